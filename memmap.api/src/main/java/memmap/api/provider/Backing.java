package memmap.api.provider;

import java.util.Objects;

import memmap.api.Mappable;
import memmap.api.MappingIdentity;

/**
 * A live backing made by a {@link BackingProvider}: what to put in {@code MMapOpts}. The
 * caller owns one reference on {@code identity} and drops it when done; the backing's
 * memory lives until the last reference on the identity is gone, whatever happens to the
 * provider that made it.
 *
 * @param request what was asked for
 * @param mappable the Mappable to map
 * @param identity its identity (one reference owned by the caller)
 * @param providerId the {@link BackingProvider#id()} of the provider that made it
 */
public record Backing(BackingRequest request, Mappable mappable, MappingIdentity identity, String providerId) {
    public Backing {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(mappable, "mappable");
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(providerId, "providerId");
    }
}
