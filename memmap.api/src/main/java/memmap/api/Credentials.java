package memmap.api;

import java.util.Set;

/**
 * Who is calling: effective user and group, supplementary groups, capabilities.
 *
 * @param uid effective user id
 * @param gid effective group id
 * @param groups supplementary group ids
 * @param capabilities capabilities held
 */
public record Credentials(int uid, int gid, Set<Integer> groups, Set<Capability> capabilities) {
    public Credentials {
        groups = Set.copyOf(groups);
        capabilities = Set.copyOf(capabilities);
    }

    /** uid 0, gid 0, every capability. */
    public static Credentials root() {
        return new Credentials(0, 0, Set.of(), Set.of(Capability.values()));
    }

    /** An unprivileged user with no supplementary groups and no capabilities. */
    public static Credentials user(int uid, int gid) {
        return new Credentials(uid, gid, Set.of(), Set.of());
    }

    /** True if the caller holds {@code cap}. */
    public boolean has(Capability cap) {
        return capabilities.contains(cap);
    }

    /** True if {@code gid} is the effective or a supplementary group. */
    public boolean inGroup(int gid) {
        return this.gid == gid || groups.contains(gid);
    }
}
