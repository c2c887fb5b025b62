package memmap.mm.internal;

import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

/**
 * The bound services of one type in the order that decides which serves: ascending by
 * ranking, then by age, so the last is the one serving — the highest ranked and, among equal
 * rankings, the newest (unlike DS's own order, where the oldest wins a tie: here a provider
 * bundle dropped in beside the old one must take over). Updates are serialized; reads take an
 * immutable snapshot without locking.
 */
final class ServingOrder<T> {
    private final TreeMap<ServiceReference<T>, T> bound = new TreeMap<>(
            Comparator.comparingInt((ServiceReference<T> r) -> r.getProperty(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0)
                    .thenComparingLong(r -> (Long) r.getProperty(Constants.SERVICE_ID)));
    private volatile List<T> snapshot = List.of();

    /** Adds {@code service}, or re-sorts it after its ranking changed. */
    void put(ServiceReference<T> ref, T service) {
        synchronized (bound) {
            // A changed ranking makes the old key unfindable by comparison: find it by object.
            bound.values().removeIf(v -> v == service);
            bound.put(ref, service);
            snapshot = List.copyOf(bound.values());
        }
    }

    void remove(T service) {
        synchronized (bound) {
            bound.values().removeIf(v -> v == service);
            snapshot = List.copyOf(bound.values());
        }
    }

    /** Ascending: the last serves. */
    List<T> all() {
        return snapshot;
    }

    /** The one serving, or null. */
    T serving() {
        List<T> s = snapshot;
        return s.isEmpty() ? null : s.getLast();
    }
}
