package memmap.api.provider;

import java.util.Objects;

import memmap.api.Errno;
import memmap.api.MMapOpts;
import memmap.api.Mappable;
import memmap.api.MappingIdentity;
import memmap.api.MemmapException;

/**
 * A live backing made by a {@link BackingProvider}: what to put in {@code MMapOpts}. The
 * caller owns one reference on {@code identity} and drops it when done; the backing's
 * memory lives until the last reference on the identity is gone, whatever happens to the
 * provider that made it.
 *
 * <p>Map it with {@link #configure(MMapOpts)}, gVisor's {@code FileDescription.ConfigureMMap}:
 * it puts the Mappable in the options and applies what the backing allows, as Linux's mmap
 * does for the file (a file open read-only maps shared only without write, and
 * {@code /dev/zero} maps as new anonymous memory).
 *
 * @param request what was asked for
 * @param mappable the Mappable to map
 * @param identity its identity (one reference owned by the caller)
 * @param providerId the {@link BackingProvider#id()} of the provider that made it
 * @param mapAs what a mapping of it is
 */
public record Backing(BackingRequest request, Mappable mappable, MappingIdentity identity, String providerId, MapAs mapAs) {

    /** What a mapping of a backing is. */
    public enum MapAs {
        /** The backing's pages, shared mappings may be writable. */
        READ_WRITE,
        /**
         * The backing's pages; shared mappings are never writable (Linux: a file open
         * read-only, so no VM_MAYWRITE); private ones may be, their writes copied.
         */
        READ_ONLY,
        /**
         * New anonymous memory, shared or private as the mapping asks ({@code /dev/zero});
         * the backing's own pages are never mapped.
         */
        ANONYMOUS
    }

    public Backing {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(mappable, "mappable");
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(providerId, "providerId");
        Objects.requireNonNull(mapAs, "mapAs");
    }

    /** A backing whose shared mappings may be writable. */
    public Backing(BackingRequest request, Mappable mappable, MappingIdentity identity, String providerId) {
        this(request, mappable, identity, providerId, MapAs.READ_WRITE);
    }

    /**
     * {@code opts} mapping this backing: its Mappable and identity set (the offset kept), its
     * maximum permissions lowered to what the backing allows.
     *
     * <p>Postcondition: mmap with the result takes its own reference on the identity; the
     * caller's reference is still the caller's to drop.
     *
     * @param opts the mapping asked for (its mappable and identity are replaced)
     * @return the options to give mmap
     * @throws MemmapException EACCES for a writable shared mapping of a {@link MapAs#READ_ONLY} backing
     */
    public MMapOpts configure(MMapOpts opts) throws MemmapException {
        Objects.requireNonNull(opts, "opts");
        MMapOpts.Builder b = opts.toBuilder();
        switch (mapAs) {
            case ANONYMOUS -> {
                return b.mappable(null).mappingIdentity(null).offset(0).build();
            }
            case READ_ONLY -> {
                if (!opts.isPrivate()) {
                    if (opts.perms().write()) {
                        throw Errno.EACCES.exception(request + " is open read-only: a shared mapping of it cannot be writable");
                    }
                    b.maxPerms(opts.maxPerms().withoutWrite());
                }
            }
            case READ_WRITE -> { }
        }
        return b.mappable(mappable).mappingIdentity(identity).build();
    }
}
