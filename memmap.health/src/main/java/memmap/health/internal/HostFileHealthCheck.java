package memmap.health.internal;

import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

import memmap.api.provider.BackingKind;

/** The health of host files (see {@link BackingHealth} for what is checked). */
@Component(property = {HealthCheck.NAME + "=memmap hostfile", HealthCheck.TAGS + "=memmap", HealthCheck.RESULT_CACHE_TTL_IN_MS + ":Long=0", HealthCheck.TAGS + "=memmap.hostfile"})
public final class HostFileHealthCheck implements HealthCheck {
    private final BackingHealth health;

    @Activate
    public HostFileHealthCheck(@Reference BackingHealth health) {
        this.health = health;
    }

    @Override
    public Result execute() {
        return health.check(BackingKind.HOST_FILE);
    }
}
