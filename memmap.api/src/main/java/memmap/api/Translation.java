package memmap.api;

/**
 * One contiguous piece of a {@link Mappable}'s translation (gVisor's {@code memmap.Translation},
 * spec §1.2): Mappable offsets {@code source} are backed by {@code file} from
 * {@code offset} on, usable for the accesses {@code perms}.
 *
 * @param source the translated Mappable offsets
 * @param file the file that backs them
 * @param offset file offset of {@code source.start()}
 * @param perms accesses for which mapping this translation is permitted
 */
public record Translation(MappableRange source, MemmapFile file, long offset, AccessType perms) {
    /** {@code [offset, offset + source.length())}. */
    public FileRange fileRange() {
        return new FileRange(offset, offset + source.length());
    }

    @Override
    public String toString() {
        return "Translation{" + source + " -> " + file + "@" + Pages.hex(offset) + " " + perms + "}";
    }
}
