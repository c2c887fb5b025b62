package memmap.api;

import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The set of all mappings of one segment of a {@link MappingSet} (gVisor's
 * {@code memmap.MappingsOfRange}). Iteration is in insertion order, so invalidation
 * callbacks come in a deterministic order (Go's map order is random).
 *
 * <p>Read-only to everyone but {@link MappingSet}.
 */
public final class MappingsOfRange implements Iterable<MappingOfRange> {
    private final Set<MappingOfRange> mappings;

    MappingsOfRange() {
        this.mappings = new LinkedHashSet<>(4);
    }

    MappingsOfRange(int expected) {
        this.mappings = LinkedHashSet.newLinkedHashSet(expected);
    }

    void add(MappingOfRange m) {
        mappings.add(m);
    }

    void remove(MappingOfRange m) {
        mappings.remove(m);
    }

    /** The number of mappings. */
    public int size() {
        return mappings.size();
    }

    /** True if there are none. */
    public boolean isEmpty() {
        return mappings.isEmpty();
    }

    /** True if {@code m} is one of them. */
    public boolean contains(MappingOfRange m) {
        return mappings.contains(m);
    }

    /** The mappings in insertion order. */
    public List<MappingOfRange> toList() {
        return List.copyOf(mappings);
    }

    @Override
    public Iterator<MappingOfRange> iterator() {
        return java.util.Collections.unmodifiableSet(mappings).iterator();
    }

    @Override
    public String toString() {
        return mappings.toString();
    }
}
