package memmap.itest;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.stream.Collectors;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Filter;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.util.tracker.ServiceTracker;

/** Helpers for tests inside Felix: waiting for services, and saying why a component is not there. */
final class Framework {
    private Framework() {}

    static BundleContext context() {
        return FrameworkUtil.getBundle(Framework.class).getBundleContext();
    }

    /**
     * The service of {@code type} matching {@code filter} (may be null), waiting up to {@link #TIMEOUT_MS}; fails
     * with the component runtime's account of every unsatisfied memmap component if none comes.
     */
    static <T> T await(Class<T> type, String filter) {
        return awaitReference(type, filter).service();
    }

    record Found<T>(ServiceReference<T> reference, T service) {}

    static <T> Found<T> awaitReference(Class<T> type, String filter) {
        BundleContext ctx = context();
        try {
            String f = "(objectClass=" + type.getName() + ")";
            if (filter != null) {
                f = "(&" + f + filter + ")";
            }
            Filter flt = ctx.createFilter(f);
            ServiceTracker<T, T> tracker = new ServiceTracker<>(ctx, flt, null);
            tracker.open();
            try {
                if (tracker.waitForService(TIMEOUT_MS) == null) {
                    fail("no " + type.getSimpleName() + " service " + (filter == null ? "" : filter) + " within " + TIMEOUT_MS + " ms\n"
                            + diagnose());
                }
                // Get the service for this bundle before the tracker lets go of it: closing the
                // tracker ungets its copy (and a service factory disposes of that instance).
                ServiceReference<T> ref = tracker.getServiceReference();
                return new Found<>(ref, ctx.getService(ref));
            } finally {
                tracker.close();
            }
        } catch (InvalidSyntaxException | InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    private static final java.util.List<memmap.api.AddressSpace> OPEN = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** A new address space, released by {@link #releaseSpaces} after the test however it ends. */
    static memmap.api.AddressSpace space(memmap.api.provider.AddressSpaces spaces) {
        memmap.api.AddressSpace as = spaces.create(memmap.api.Context.background());
        OPEN.add(as);
        return as;
    }

    /** Releases every address space {@link #space} made (a failed test leaves none for the next to count). */
    static void releaseSpaces() {
        for (memmap.api.AddressSpace as : OPEN) {
            as.release(memmap.api.Context.background());
        }
        OPEN.clear();
    }

    /**
     * Writes a file the way File Install must see it: whole. Written beside, then moved over
     * the old one atomically, so the watcher never reads it half-written (a truncated file read
     * in the same millisecond as the full one would hide the change from its time stamp check).
     */
    static void writeAtomically(java.nio.file.Path target, String text) throws java.io.IOException {
        writeAtomically(target, text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** As {@link #writeAtomically(java.nio.file.Path, String)}, for bytes (a bundle dropped in). */
    static void writeAtomically(java.nio.file.Path target, byte[] bytes) throws java.io.IOException {
        java.nio.file.Path tmp = java.nio.file.Files.createTempFile(target.toAbsolutePath().getParent().getParent(), target.getFileName().toString(), ".tmp");
        java.nio.file.Files.write(tmp, bytes);
        java.nio.file.Files.move(tmp, target, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** How long a wait on the framework may take: generous, for a loaded 2-core CI machine. */
    static final long TIMEOUT_MS = 60_000;

    /**
     * Waits for the service of {@code type} matching {@code filter} to be registered anew — a
     * service id other than {@code oldServiceId} — as after a component was re-activated:
     * a service tracker on exactly that condition, no polling.
     */
    static <T> T awaitReplacement(Class<T> type, String filter, Object oldServiceId) throws InterruptedException {
        BundleContext ctx = context();
        try {
            String f = "(&(objectClass=" + type.getName() + ")" + (filter == null ? "" : filter) + "(!(service.id=" + oldServiceId + ")))";
            ServiceTracker<T, T> tracker = new ServiceTracker<>(ctx, ctx.createFilter(f), null);
            tracker.open();
            try {
                if (tracker.waitForService(TIMEOUT_MS) == null) {
                    fail("no new " + type.getSimpleName() + " " + filter + " within " + TIMEOUT_MS + " ms\n" + diagnose());
                }
                ServiceReference<T> ref = tracker.getServiceReference();
                return ctx.getService(ref);
            } finally {
                tracker.close();
            }
        } catch (InvalidSyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Waits until {@code condition} holds: it is checked again at every service, bundle and
     * configuration event of the framework (what makes these conditions change), and at the
     * latest every 20 ms for changes no event announces (a backing's last reference dropped).
     * Fails naming {@code what} after {@link #TIMEOUT_MS}.
     */
    static void until(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        BundleContext ctx = context();
        Object signal = new Object();
        org.osgi.framework.ServiceListener services = e -> {
            synchronized (signal) {
                signal.notifyAll();
            }
        };
        org.osgi.framework.BundleListener bundles = e -> {
            synchronized (signal) {
                signal.notifyAll();
            }
        };
        org.osgi.service.cm.ConfigurationListener configs = e -> {
            synchronized (signal) {
                signal.notifyAll();
            }
        };
        ctx.addServiceListener(services);
        ctx.addBundleListener(bundles);
        var reg = ctx.registerService(org.osgi.service.cm.ConfigurationListener.class, configs, null);
        try {
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
            while (!condition.getAsBoolean()) {
                if (System.nanoTime() > deadline) {
                    fail("not within " + TIMEOUT_MS + " ms: " + what + "\n" + diagnose());
                }
                synchronized (signal) {
                    signal.wait(20);
                }
            }
        } finally {
            reg.unregister();
            ctx.removeBundleListener(bundles);
            ctx.removeServiceListener(services);
        }
    }

    /** Every memmap component and, for those not active, what the component runtime says is missing. */
    static String diagnose() {
        BundleContext ctx = context();
        ServiceReference<ServiceComponentRuntime> ref = ctx.getServiceReference(ServiceComponentRuntime.class);
        if (ref == null) {
            return "  (no ServiceComponentRuntime: is Felix SCR running?)";
        }
        ServiceComponentRuntime scr = ctx.getService(ref);
        StringBuilder sb = new StringBuilder();
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            if (!d.bundle.symbolicName.startsWith("memmap")) {
                continue;
            }
            sb.append("  ").append(d.name).append(" (").append(d.bundle.symbolicName).append(")");
            if (!scr.isComponentEnabled(d)) {
                sb.append(": disabled\n");
                continue;
            }
            var configs = scr.getComponentConfigurationDTOs(d);
            if (configs.isEmpty()) {
                sb.append(": no configuration (policy ").append(d.configurationPolicy).append(")\n");
            }
            for (ComponentConfigurationDTO c : configs) {
                sb.append(": state ").append(state(c.state));
                if (c.unsatisfiedReferences.length > 0) {
                    sb.append(", unsatisfied references ").append(java.util.Arrays.stream(c.unsatisfiedReferences)
                            .map(u -> u.name + " " + u.target).collect(Collectors.joining(", ")));
                }
                if (c.failure != null) {
                    sb.append(", failure: ").append(c.failure);
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private static String state(int s) {
        return switch (s) {
            case ComponentConfigurationDTO.ACTIVE -> "active";
            case ComponentConfigurationDTO.SATISFIED -> "satisfied";
            case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> "unsatisfied reference";
            case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION -> "unsatisfied configuration";
            case ComponentConfigurationDTO.FAILED_ACTIVATION -> "failed activation";
            default -> "state " + s;
        };
    }
}
