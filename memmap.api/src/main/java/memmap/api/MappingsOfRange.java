package memmap.api;

import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The set of all mappings of one segment of a {@link MappingSet} (gVisor's
 * {@code memmap.MappingsOfRange}). Iteration is in insertion order, so invalidation
 * callbacks come in a deterministic order (Go's map order is random).
 *
 * <p>Most ranges are mapped once or twice, so up to {@value #INLINE} mappings live in a
 * small array (no hashing, little garbage); beyond that a {@link LinkedHashSet} keeps
 * lookups O(1). Read-only to everyone but {@link MappingSet}.
 */
public final class MappingsOfRange implements Iterable<MappingOfRange> {
    private static final int INLINE = 8;

    private MappingOfRange[] small;
    private int n;
    private LinkedHashSet<MappingOfRange> large;

    MappingsOfRange() {
        this(1);
    }

    MappingsOfRange(int expected) {
        if (expected > INLINE) {
            large = LinkedHashSet.newLinkedHashSet(expected);
        } else {
            small = new MappingOfRange[Math.max(expected, 1)];
        }
    }

    void add(MappingOfRange m) {
        if (large != null) {
            large.add(m);
            return;
        }
        if (indexOf(m) >= 0) {
            return;
        }
        if (n == INLINE) {
            large = LinkedHashSet.newLinkedHashSet(INLINE * 2);
            large.addAll(Arrays.asList(small).subList(0, n));
            large.add(m);
            small = null;
            n = 0;
            return;
        }
        if (n == small.length) {
            small = Arrays.copyOf(small, Math.min(INLINE, n * 2));
        }
        small[n++] = m;
    }

    void remove(MappingOfRange m) {
        if (large != null) {
            large.remove(m);
            return;
        }
        int i = indexOf(m);
        if (i >= 0) {
            System.arraycopy(small, i + 1, small, i, n - i - 1);
            small[--n] = null;
        }
    }

    private int indexOf(MappingOfRange m) {
        for (int i = 0; i < n; i++) {
            if (small[i].equals(m)) {
                return i;
            }
        }
        return -1;
    }

    /** The number of mappings. */
    public int size() {
        return large != null ? large.size() : n;
    }

    /** True if there are none. */
    public boolean isEmpty() {
        return size() == 0;
    }

    /** True if {@code m} is one of them. */
    public boolean contains(MappingOfRange m) {
        return large != null ? large.contains(m) : indexOf(m) >= 0;
    }

    /** The mappings in insertion order. */
    public List<MappingOfRange> toList() {
        return large != null ? List.copyOf(large) : List.of(Arrays.copyOf(small, n));
    }

    @Override
    public Iterator<MappingOfRange> iterator() {
        if (large != null) {
            return java.util.Collections.unmodifiableSet(large).iterator();
        }
        return new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
                return i < n;
            }

            @Override
            public MappingOfRange next() {
                if (i >= n) {
                    throw new NoSuchElementException();
                }
                return small[i++];
            }
        };
    }

    @Override
    public String toString() {
        return toList().toString();
    }
}
