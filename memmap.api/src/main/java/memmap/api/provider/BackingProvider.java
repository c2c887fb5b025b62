package memmap.api.provider;

import memmap.api.Context;
import memmap.api.MemmapException;

/**
 * A service that makes {@link memmap.api.Mappable}s of one {@link BackingKind}: anonymous
 * memory, host files or shared memory. Registered by provider bundles with the service
 * property {@link #KIND} (and usually {@code service.ranking}); address spaces bind the
 * highest-ranked provider of each kind dynamically and greedily.
 *
 * <h2>Hot swap</h2>
 * Providers come and go while their backings are mapped. The contract that makes that safe:
 * <ul>
 * <li><b>Release, never free.</b> When a provider goes away (its component deactivates) it
 * stops making backings, but every backing it made keeps working until the last reference
 * on its identity is dropped; only then is its memory freed.</li>
 * <li><b>Adoption.</b> A new provider of the same kind can {@link #adopt} a live backing of
 * another: it makes an equivalent backing of its own (anonymous memory copied, host files
 * re-opened, shared memory handed over with its keys and ids) so the address space can
 * re-point its mappings and drop the old backing, after which the old provider holds
 * nothing.</li>
 * </ul>
 *
 * <p>Thread safety: every method may be called concurrently.
 */
@org.osgi.annotation.versioning.ProviderType
public interface BackingProvider {
    /** Service property naming the kind served: one of {@link BackingKind#id()}. */
    String KIND = "memmap.backing.kind";

    /** The kind served. */
    BackingKind kind();

    /** An id unique among live providers (e.g. bundle symbolic name, version and component id). */
    String id();

    /**
     * Makes a new backing.
     *
     * @throws MemmapException with Linux's errno if it cannot (ENOMEM past the memory limit,
     *     ENOENT or EACCES for files, ...); nothing is left allocated or open then
     * @throws IllegalArgumentException if {@code request} is of another kind
     * @throws IllegalStateException if this provider has been released
     */
    Backing create(Context ctx, BackingRequest request) throws MemmapException;

    /**
     * Makes a backing of this provider equivalent to {@code live}, which another provider of
     * the same kind made: same size and contents (a snapshot taken while the caller keeps
     * writers of {@code live} out), same identity-visible properties. {@code live} is not
     * changed; the caller re-points its mappings and then drops {@code live}.
     *
     * @throws MemmapException if it cannot; nothing is left allocated then
     */
    Backing adopt(Context ctx, Backing live) throws MemmapException;

    /**
     * The first half of a live adoption (a hot swap's pre-copy): this provider's equivalent of
     * {@code live} with the same identity-visible properties, but — when {@code live}'s
     * Mappable is {@link memmap.api.OwnedPages} — none of its contents: the caller copies them
     * ({@link memmap.api.OwnedPages#copy}) while writers of {@code live} keep running, then
     * copies again what they wrote. A backing whose contents are a file's (host files, POSIX
     * shared memory) sees the same contents at once and needs no copy. The result is not mapped
     * anywhere; the caller owns its one reference.
     *
     * <p>The default is {@link #adopt}: a full copy, which pre-copy's later rounds correct.
     *
     * @throws MemmapException if it cannot; nothing is left allocated then
     */
    default Backing twin(Context ctx, Backing live) throws MemmapException {
        return adopt(ctx, live);
    }

    /** What this provider holds now. */
    ProviderUsage usage();
}
