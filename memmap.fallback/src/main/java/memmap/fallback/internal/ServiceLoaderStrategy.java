package memmap.fallback.internal;

import java.util.Map;

import memmap.api.provider.BufferedIOFallbackStrategy;

/**
 * The buffered-I/O fallback for plain-JPMS use ({@code ServiceLoader.load(BufferedIOFallbackStrategy.class)}):
 * the direct strategy, the one ranked highest under OSGi.
 */
public final class ServiceLoaderStrategy {
    private ServiceLoaderStrategy() {
    }

    /** The ServiceLoader provider method. */
    public static BufferedIOFallbackStrategy provider() {
        return new DirectStrategy(Map.of("component.id", "serviceloader"));
    }
}
