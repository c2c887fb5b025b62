package memmap.api.provider;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemmapException;

/**
 * Makes address spaces, and routes backing requests to the provider of their kind: the
 * service of {@code memmap.mm}. It binds the backing providers, the memory file and the
 * fallback strategies dynamically and greedily, so a provider replaced at run time serves the
 * next request at once.
 */
@org.osgi.annotation.versioning.ProviderType
public interface AddressSpaces {
    /** A new, empty address space. */
    AddressSpace create(Context ctx);

    /**
     * A backing from the highest-ranked provider of {@code request}'s kind.
     *
     * @throws MemmapException ENODEV "no provider for kind X" if none is registered, or the
     *     provider's own error
     */
    Backing backing(Context ctx, BackingRequest request) throws MemmapException;

    /**
     * The {@link BackingProvider#id() id} of the provider serving {@code kind} now — the one
     * {@link #backing} asks, and the one live backings of the kind are moved to — or empty if
     * none does. What a console marks as serving, so that it never disagrees with where new
     * mappings go (among equal rankings the newest serves).
     */
    java.util.Optional<String> serving(BackingKind kind);

    /**
     * The address spaces made here and not yet {@link AddressSpace#release released}, forks and
     * restores included, in creation order ({@link AddressSpace#id()} ascending): what a console
     * lists, as {@code /proc} lists processes. A snapshot: one made or released meanwhile may or
     * may not be in it. It never keeps an address space alive that nothing else references.
     *
     * @since 1.4
     */
    java.util.List<AddressSpace> live();
}
