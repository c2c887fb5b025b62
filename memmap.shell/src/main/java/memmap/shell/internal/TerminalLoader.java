package memmap.shell.internal;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.SynchronousBundleListener;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;

/**
 * Lets Gogo's JLine shell find a real terminal inside the framework. JLine (3.24 on) finds its
 * terminal providers (exec, ffm, ...) through the thread's context class loader, which inside
 * OSGi is the launcher's and sees none of them: every start fell back to a "dumb terminal" with
 * no line editing, history or completion. The shell thread is started by
 * {@code org.apache.felix.gogo.jline}'s activator and inherits the context class loader of the
 * thread that starts that bundle; so while that bundle is starting — between its STARTING and
 * STARTED (or STOPPED) events, delivered synchronously on the starting thread — that thread's
 * context class loader is JLine's bundle class loader, and afterwards what it was. Without a
 * terminal (standard input a pipe) JLine's dumb terminal is taken without its warning
 * ({@value #DUMB} = true unless set).
 *
 * <p>Without JLine or Gogo's JLine shell in the framework (the tests' frameworks) it does
 * nothing. It must be active before the shell starts: the runtime starts the shell at a later
 * start level than this bundle.
 */
@Component(service = {}, immediate = true)
public final class TerminalLoader {
    static final String SHELL = "org.apache.felix.gogo.jline";
    static final String JLINE = "org.jline";
    /** JLine's system property: true lets it fall back to a dumb terminal without warning. */
    static final String DUMB = "org.jline.terminal.dumb";
    private final BundleContext context;
    private final ThreadLocal<ClassLoader> saved = new ThreadLocal<>();
    private final SynchronousBundleListener listener = this::bundleChanged;

    @Activate
    public TerminalLoader(BundleContext context) {
        this.context = context;
        context.addBundleListener(listener);
    }

    @Deactivate
    void deactivate() {
        try {
            context.removeBundleListener(listener);
        } catch (IllegalStateException e) {
            // the bundle is stopping: its listeners go with it
        }
    }

    private void bundleChanged(BundleEvent e) {
        if (!SHELL.equals(e.getBundle().getSymbolicName())) {
            return;
        }
        Thread t = Thread.currentThread();
        if (e.getType() == BundleEvent.STARTING) {
            // Standard input a pipe (a script, a service manager) is not a failure: JLine makes its
            // dumb terminal without a warning on the console (a terminal is still used when there is one).
            if (System.getProperty(DUMB) == null) {
                System.setProperty(DUMB, "true");
            }
            ClassLoader jline = jlineLoader();
            if (jline != null) {
                saved.set(t.getContextClassLoader());
                t.setContextClassLoader(jline);
            }
        } else if ((e.getType() == BundleEvent.STARTED || e.getType() == BundleEvent.STOPPED) && saved.get() != null) {
            t.setContextClassLoader(saved.get());
            saved.remove();
        }
    }

    /** The class loader of the JLine bundle the shell is wired to, or null. */
    private ClassLoader jlineLoader() {
        for (Bundle b : context.getBundles()) {
            if (JLINE.equals(b.getSymbolicName()) && (b.getState() & (Bundle.RESOLVED | Bundle.STARTING | Bundle.ACTIVE)) != 0) {
                BundleWiring w = b.adapt(BundleWiring.class);
                if (w != null && w.getClassLoader() != null) {
                    return w.getClassLoader();
                }
            }
        }
        return null;
    }
}
