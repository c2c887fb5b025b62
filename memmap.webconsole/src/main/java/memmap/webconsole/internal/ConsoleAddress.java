package memmap.webconsole.internal;

import java.util.List;

import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;

/**
 * Says where the web console is: an INFO entry on {@code memmap.webconsole} with the memmap
 * page's address, for each HTTP runtime's endpoint, whenever it is bound or its endpoints
 * change (the runtime's port may be chosen at start, {@code -Dorg.osgi.service.http.port=0}).
 */
@Component(immediate = true, service = {})
public final class ConsoleAddress {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        MemmapPlugin.LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        MemmapPlugin.LOGS.unuse(this, f);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            service = HttpServiceRuntime.class)
    void bindRuntime(ServiceReference<HttpServiceRuntime> ref) {
        say(ref);
    }

    void updatedRuntime(ServiceReference<HttpServiceRuntime> ref) {
        say(ref);
    }

    void unbindRuntime(ServiceReference<HttpServiceRuntime> ref) {
        said.remove(ref.getProperty(org.osgi.framework.Constants.SERVICE_ID));
    }

    /** The endpoints last said, by runtime: each address is said once, again only if it changes. */
    private final java.util.Map<Object, List<String>> said = new java.util.concurrent.ConcurrentHashMap<>();

    private void say(ServiceReference<HttpServiceRuntime> ref) {
        List<String> now = endpoints(ref.getProperty("osgi.http.endpoint"));
        if (now.equals(said.put(ref.getProperty(org.osgi.framework.Constants.SERVICE_ID), now))) {
            return;
        }
        for (String endpoint : now) {
            String base = endpoint.endsWith("/") ? endpoint : endpoint + "/";
            MemmapPlugin.LOGS.get(MemmapPlugin.PID).info("web console: " + base + "system/console/" + MemmapPlugin.LABEL);
        }
    }

    static List<String> endpoints(Object property) {
        if (property instanceof String s) {
            return List.of(s);
        }
        if (property instanceof String[] a) {
            return List.of(a);
        }
        if (property instanceof java.util.Collection<?> c) {
            return c.stream().map(String::valueOf).toList();
        }
        return List.of();
    }
}
