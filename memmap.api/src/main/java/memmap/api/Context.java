package memmap.api;

import java.time.InstantSource;
import java.util.Objects;

/**
 * What gVisor finds through {@code context.Context}, passed explicitly: the caller's
 * credentials, resource limits, memory cgroup, thread-group id and clock.
 *
 * @param credentials the caller's credentials
 * @param limits the caller's resource limits
 * @param memCgId the memory cgroup new pages are charged to (unsigned 32-bit)
 * @param threadGroupId the caller's thread-group id (pid), 0 if unknown
 * @param clock the realtime clock, for attach/detach and change times
 */
public record Context(Credentials credentials, ResourceLimits limits, int memCgId, int threadGroupId, InstantSource clock) {
    public Context {
        Objects.requireNonNull(credentials, "credentials");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(clock, "clock");
    }

    private static final Context BACKGROUND = new Context(Credentials.root(), ResourceLimits.UNLIMITED, 0, 0, InstantSource.system());

    /** Root credentials, no limits, cgroup 0, unknown pid, the system clock. */
    public static Context background() {
        return BACKGROUND;
    }

    /** This context with other credentials. */
    public Context withCredentials(Credentials c) {
        return new Context(c, limits, memCgId, threadGroupId, clock);
    }

    /** This context with other limits. */
    public Context withLimits(ResourceLimits l) {
        return new Context(credentials, l, memCgId, threadGroupId, clock);
    }

    /** This context charging another memory cgroup. */
    public Context withMemCgId(int id) {
        return new Context(credentials, limits, id, threadGroupId, clock);
    }

    /** This context for another thread group. */
    public Context withThreadGroupId(int tgid) {
        return new Context(credentials, limits, memCgId, tgid, clock);
    }
}
