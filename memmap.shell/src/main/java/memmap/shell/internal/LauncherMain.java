package memmap.shell.internal;

import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.SynchronousBundleListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * The runtime's main thread as bnd's launcher runs it (a {@code Callable<Integer>} service with
 * {@code main.thread=true}: the launcher calls it and exits with what it returns). It returns 0
 * as soon as the framework begins to stop — {@code stop 0} in the shell, or anything else that
 * stops the system bundle — so an orderly stop exits with status 0. Without it the launcher
 * exits 117 ({@code STOPPED}) for every stop, which scripts and service managers read as a
 * failure.
 */
@Component(service = {}, immediate = true)
public final class LauncherMain implements Callable<Integer> {
    /**
     * The framework property that asks for this main (set by the runtime's bndrun). Elsewhere — a
     * test framework, whose tester is the launcher's main — nothing is registered.
     */
    public static final String PROPERTY = "memmap.launcher.main";
    private org.osgi.framework.ServiceRegistration<?> registration;
    private final CountDownLatch stopping = new CountDownLatch(1);
    private final BundleContext context;
    private final SynchronousBundleListener listener = e -> {
        if (e.getBundle().getBundleId() == 0 && e.getType() == BundleEvent.STOPPING) {
            stopping.countDown();
        }
    };

    @Activate
    public LauncherMain(BundleContext context) {
        this.context = context;
        if (Boolean.parseBoolean(context.getProperty(PROPERTY))) {
            // On the system bundle's context: the listener outlives this bundle, so the launcher's
            // main (this instance, once chosen) still ends when the framework stops after
            // memmap.shell was stopped or updated on its own — and not before.
            context.getBundle(0).getBundleContext().addBundleListener(listener);
            java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
            props.put("main.thread", "true");
            registration = context.registerService(Callable.class, this, props);
        }
    }

    /** The service goes; the main does not end here (only the framework's stop ends it). */
    @Deactivate
    void deactivate() {
        if (registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException e) {
                // already gone with the bundle
            }
        }
    }

    /** Waits until the framework begins to stop; 0. */
    @Override
    public Integer call() throws InterruptedException {
        stopping.await();
        return 0;
    }
}
