package memmap.api;

import java.util.Objects;

/**
 * One mapping of a {@link MappableRange}: addresses {@code addrRange} in
 * {@code mappingSpace} (gVisor's {@code memmap.MappingOfRange}).
 *
 * <p>Equality is {@code (mappingSpace identity, addrRange, writable)}: the MappingSpace is
 * compared by reference, and two mappings that differ only in {@code writable} are different.
 *
 * @param mappingSpace the space that maps the range
 * @param addrRange the addresses that map it
 * @param writable whether the mapping can modify the backing data
 */
public record MappingOfRange(MappingSpace mappingSpace, AddrRange addrRange, boolean writable) {
    public MappingOfRange {
        Objects.requireNonNull(mappingSpace, "mappingSpace");
        Objects.requireNonNull(addrRange, "addrRange");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MappingOfRange m && m.mappingSpace == mappingSpace && m.addrRange.equals(addrRange)
                && m.writable == writable;
    }

    @Override
    public int hashCode() {
        return (System.identityHashCode(mappingSpace) * 31 + addrRange.hashCode()) * 2 + (writable ? 1 : 0);
    }

    /** As gVisor prints it: the address range Go-struct style. */
    @Override
    public String toString() {
        return "hostarch.AddrRange{Start:" + Pages.hex(addrRange.start()) + ", End:" + Pages.hex(addrRange.end()) + "}";
    }
}
