package memmap.api;

/**
 * Options to {@link MappingSpace#invalidate} (gVisor's {@code memmap.InvalidateOpts}, spec §1.6).
 *
 * @param invalidatePrivate if true, private pages (copy-on-write copies and anonymous
 *     memory) in the invalidated region are discarded too, losing their data, as Linux's
 *     {@code unmap_mapping_range(evencows=1)} does on truncation. If false only cached
 *     translations are dropped.
 */
public record InvalidateOpts(boolean invalidatePrivate) {
    /** Drop cached translations only. */
    public static final InvalidateOpts DEFAULT = new InvalidateOpts(false);
    /** Drop cached translations and private pages. */
    public static final InvalidateOpts PRIVATE = new InvalidateOpts(true);
}
