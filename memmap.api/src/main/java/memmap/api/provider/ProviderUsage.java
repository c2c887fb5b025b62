package memmap.api.provider;

/**
 * What a provider holds right now.
 *
 * @param liveBackings backings made and not yet released
 * @param allocatedBytes bytes of memory handed out and still referenced
 * @param committedBytes bytes really resident (for memory the provider owns)
 */
public record ProviderUsage(long liveBackings, long allocatedBytes, long committedBytes) {
    /** Nothing held. */
    public static final ProviderUsage NONE = new ProviderUsage(0, 0, 0);
}
