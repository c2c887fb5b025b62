package memmap.api;

import java.util.Objects;

/**
 * A request to create a memory mapping (gVisor's {@code memmap.MMapOpts}, spec §1.9). Build
 * one with {@link #builder()}.
 *
 * <p>The canonical constructor rejects the combinations the seed forbids, with an
 * {@link IllegalArgumentException} naming the field: {@code unmap} without {@code fixed};
 * {@code noReplace} without {@code fixed} or with {@code unmap}; {@code force} without both
 * {@code fixed} and {@code unmap}; {@code maxPerms} that is not effective; null enum fields.
 * What depends on the address space (lengths, alignment, permissions against the limits) is
 * checked by mmap, which reports Linux's errno.
 *
 * @param length length of the mapping (mmap rounds it up to a page; 0 is EINVAL there)
 * @param mappingIdentity controls the Mappable's lifetime and supplies the maps text; mmap
 *     takes a reference on it. May be null for anonymous mappings
 * @param mappable what to map; null for an anonymous mapping
 * @param offset offset into the Mappable (ignored if anonymous)
 * @param addr the suggested (or, with {@code fixed}, required) address
 * @param fixed the mapping must be placed at {@code addr}
 * @param unmap existing mappings in the range may be replaced; requires {@code fixed}
 * @param noReplace MAP_FIXED_NOREPLACE: fail with EEXIST rather than replace; requires
 *     {@code fixed} and not {@code unmap}
 * @param map32Bit every address of the mapping must fit in 32 bits (ignored with {@code fixed})
 * @param perms initial permissions; must be a subset of {@code maxPerms} (EACCES at mmap)
 * @param maxPerms permissions that may ever apply; must be effective
 * @param isPrivate writes go to a copy private to the address space (MAP_PRIVATE)
 * @param growsDown MAP_GROWSDOWN; anonymous mappings only (EINVAL at mmap)
 * @param stack MAP_STACK; no mandatory semantics
 * @param platformEffect the synchronous effect on the platform address space
 * @param mlockMode memory locking of the mapping
 * @param name the name shown in maps; empty to use the identity's; no control characters
 *     (IllegalArgumentException: a newline would forge lines in maps)
 * @param nameMut the effect of PR_SET_VMA_ANON_NAME on the mapping
 * @param force skip address validation; requires {@code fixed} and {@code unmap}
 * @param requirePlatformEffect fail mmap if the platform effect cannot be achieved
 * @param sentryOwnedContent only memmap modifies the memory behind the mapping
 */
public record MMapOpts(
        long length,
        MappingIdentity mappingIdentity,
        Mappable mappable,
        long offset,
        long addr,
        boolean fixed,
        boolean unmap,
        boolean noReplace,
        boolean map32Bit,
        AccessType perms,
        AccessType maxPerms,
        boolean isPrivate,
        boolean growsDown,
        boolean stack,
        MMapPlatformEffect platformEffect,
        MLockMode mlockMode,
        String name,
        NameMut nameMut,
        boolean force,
        boolean requirePlatformEffect,
        boolean sentryOwnedContent) {

    public MMapOpts {
        Objects.requireNonNull(perms, "perms");
        Objects.requireNonNull(maxPerms, "maxPerms");
        Objects.requireNonNull(platformEffect, "platformEffect");
        Objects.requireNonNull(mlockMode, "mlockMode");
        Objects.requireNonNull(nameMut, "nameMut");
        name = name == null ? "" : name;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new IllegalArgumentException("name = \"" + name.replace("\n", "\\n") + "\" has the control character 0x"
                        + Integer.toHexString(c) + " at " + i + ": a name is one line of maps");
            }
        }
        if (unmap && !fixed) {
            throw new IllegalArgumentException("unmap = true requires fixed = true");
        }
        if (noReplace && (!fixed || unmap)) {
            throw new IllegalArgumentException("noReplace = true requires fixed = true and unmap = false (fixed = "
                    + fixed + ", unmap = " + unmap + ")");
        }
        if (force && !(fixed && unmap)) {
            throw new IllegalArgumentException("force = true requires fixed = true and unmap = true (fixed = "
                    + fixed + ", unmap = " + unmap + ")");
        }
        if (!maxPerms.equals(maxPerms.effective())) {
            throw new IllegalArgumentException("maxPerms = " + maxPerms + " is not effective (write or execute without read)");
        }
    }

    /** A builder with the seed's zero values (see {@link Builder} for the permissions). */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder starting from this request. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.length = length;
        b.mappingIdentity = mappingIdentity;
        b.mappable = mappable;
        b.offset = offset;
        b.addr = addr;
        b.fixed = fixed;
        b.unmap = unmap;
        b.noReplace = noReplace;
        b.map32Bit = map32Bit;
        b.perms = perms;
        b.maxPerms = maxPerms;
        b.isPrivate = isPrivate;
        b.growsDown = growsDown;
        b.stack = stack;
        b.platformEffect = platformEffect;
        b.mlockMode = mlockMode;
        b.name = name;
        b.nameMut = nameMut;
        b.force = force;
        b.requirePlatformEffect = requirePlatformEffect;
        b.sentryOwnedContent = sentryOwnedContent;
        return b;
    }

    /** True if the mapping is anonymous (no Mappable). */
    public boolean isAnonymous() {
        return mappable == null;
    }

    /**
     * Builds {@link MMapOpts}. Starts from the seed's zero values except the permissions,
     * which start as {@code perms = rw-} and {@code maxPerms = rwx} (what an anonymous
     * read-write mmap asks for).
     */
    public static final class Builder {
        private long length;
        private MappingIdentity mappingIdentity;
        private Mappable mappable;
        private long offset;
        private long addr;
        private boolean fixed;
        private boolean unmap;
        private boolean noReplace;
        private boolean map32Bit;
        private AccessType perms = AccessType.READ_WRITE;
        private AccessType maxPerms = AccessType.ANY_ACCESS;
        private boolean isPrivate;
        private boolean growsDown;
        private boolean stack;
        private MMapPlatformEffect platformEffect = MMapPlatformEffect.DEFAULT;
        private MLockMode mlockMode = MLockMode.NONE;
        private String name = "";
        private NameMut nameMut = NameMut.DISALLOWED;
        private boolean force;
        private boolean requirePlatformEffect;
        private boolean sentryOwnedContent;

        private Builder() {}

        public Builder length(long v) { length = v; return this; }
        public Builder mappingIdentity(MappingIdentity v) { mappingIdentity = v; return this; }
        public Builder mappable(Mappable v) { mappable = v; return this; }
        public Builder offset(long v) { offset = v; return this; }
        public Builder addr(long v) { addr = v; return this; }
        public Builder fixed(boolean v) { fixed = v; return this; }
        public Builder unmap(boolean v) { unmap = v; return this; }
        public Builder noReplace(boolean v) { noReplace = v; return this; }
        public Builder map32Bit(boolean v) { map32Bit = v; return this; }
        public Builder perms(AccessType v) { perms = v; return this; }
        public Builder maxPerms(AccessType v) { maxPerms = v; return this; }
        public Builder isPrivate(boolean v) { isPrivate = v; return this; }
        public Builder growsDown(boolean v) { growsDown = v; return this; }
        public Builder stack(boolean v) { stack = v; return this; }
        public Builder platformEffect(MMapPlatformEffect v) { platformEffect = v; return this; }
        public Builder mlockMode(MLockMode v) { mlockMode = v; return this; }
        public Builder name(String v) { name = v; return this; }
        public Builder nameMut(NameMut v) { nameMut = v; return this; }
        public Builder force(boolean v) { force = v; return this; }
        public Builder requirePlatformEffect(boolean v) { requirePlatformEffect = v; return this; }
        public Builder sentryOwnedContent(boolean v) { sentryOwnedContent = v; return this; }

        /**
         * The request.
         *
         * @throws IllegalArgumentException for a combination the seed forbids (see {@link MMapOpts})
         */
        public MMapOpts build() {
            return new MMapOpts(length, mappingIdentity, mappable, offset, addr, fixed, unmap, noReplace, map32Bit,
                    perms, maxPerms, isPrivate, growsDown, stack, platformEffect, mlockMode, name, nameMut, force,
                    requirePlatformEffect, sentryOwnedContent);
        }
    }
}
