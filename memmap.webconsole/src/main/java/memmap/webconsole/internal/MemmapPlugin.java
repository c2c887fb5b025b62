package memmap.webconsole.internal;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import org.apache.felix.webconsole.servlet.AbstractServlet;
import org.apache.felix.webconsole.servlet.ServletConstants;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import jakarta.servlet.Servlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemoryFile;
import memmap.api.MemoryUsage;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.ProviderUsage;
import memmap.api.provider.SysVSharedMemory;
import memmap.posix.Settings;

/**
 * The memmap page of the Apache Felix Web Console ({@code /system/console/memmap}): the
 * backing providers (kind, bundle, ranking, serving, usage), every live address space drawn to
 * scale ({@link SpaceLayout}), the serving memory file's usage per cgroup over time
 * ({@link UsageHistory}, sampled every {@code sampleSeconds}), and the System V segments as
 * {@code ipcs -m} lists them.
 *
 * <p>Everything is read when the page is asked for, from the services registered then; nothing
 * on the page is cached but the usage samples. Every value shown is escaped.
 *
 * <p>Thread safety: requests run on Jetty's threads, the sampler on its own; the services are
 * held in concurrent maps DS updates, the history has its own lock.
 */
@Component(service = Servlet.class, configurationPid = MemmapPlugin.PID, property = {
        ServletConstants.PLUGIN_LABEL + "=" + MemmapPlugin.LABEL, ServletConstants.PLUGIN_TITLE + "=memmap",
        ServletConstants.PLUGIN_CATEGORY + "=memmap"})
@Designate(ocd = MemmapPlugin.Config.class)
public final class MemmapPlugin extends AbstractServlet {
    private static final long serialVersionUID = 1L;
    /** The Config Admin PID. */
    public static final String PID = "memmap.webconsole";
    /** The page's label: its address is /system/console/memmap. */
    public static final String LABEL = "memmap";
    static final memmap.posix.Logs LOGS = new memmap.posix.Logs();
    private static final memmap.posix.Log LOG = LOGS.get(PID);
    private static final Context CTX = Context.background();

    @ObjectClassDefinition(name = "memmap web console", description = "The memmap page of the web console.")
    public @interface Config {
        @AttributeDefinition(name = "Sample every (seconds)", description = "How often the memory file's usage per cgroup is sampled, 1 to 3600.")
        long sampleSeconds() default 5;

        @AttributeDefinition(name = "Samples kept", description = "How many samples the usage chart shows (the oldest dropped), 2 to 100000.")
        long samples() default 360;
    }

    private final transient Map<ServiceReference<BackingProvider>, BackingProvider> providers = new ConcurrentHashMap<>();
    private final transient Map<ServiceReference<MemoryFile>, MemoryFile> memoryFiles = new ConcurrentHashMap<>();
    private final transient Map<ServiceReference<SysVSharedMemory>, SysVSharedMemory> sysvs = new ConcurrentHashMap<>();
    private transient volatile AddressSpaces addressSpaces;
    private final transient UsageHistory history = new UsageHistory(360);
    private final transient ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "memmap.webconsole usage sampler");
        t.setDaemon(true);
        return t;
    });
    private transient ScheduledFuture<?> sampling;
    private volatile long sampleSeconds = 5;
    private volatile long samples = 360;
    private final transient List<String> rejectedAtStart;

    @Activate
    public MemmapPlugin(Map<String, Object> properties) {
        rejectedAtStart = apply(properties);
    }

    @Activate
    void activated() {
        LOG.configured("web console plugin", "activated", rejectedAtStart, this::settings);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        LOG.configured("web console plugin", "reconfigured", apply(properties), this::settings);
    }

    @Deactivate
    void deactivate() {
        sampler.shutdownNow();
    }

    private String settings() {
        return "sampleSeconds=" + sampleSeconds + " samples=" + samples;
    }

    private synchronized List<String> apply(Map<String, Object> properties) {
        Settings in = new Settings(PID, properties);
        sampleSeconds = in.longValue("sampleSeconds", 5, sampleSeconds, "must be 1 to 3600", v -> v >= 1 && v <= 3600);
        samples = in.longValue("samples", 360, samples, "must be 2 to 100000", v -> v >= 2 && v <= 100_000);
        history.resize((int) samples);
        if (sampling != null) {
            sampling.cancel(false);
        }
        sampling = sampler.scheduleWithFixedDelay(this::sample, 0, sampleSeconds, TimeUnit.SECONDS);
        return in.rejected();
    }

    private void sample() {
        try {
            MemoryFile mf = servingMemoryFile();
            if (mf != null) {
                history.add(System.currentTimeMillis(), mf.usage());
            }
        } catch (RuntimeException e) {
            LOG.warn("memmap.webconsole: sampling the memory file's usage failed", e);
        }
    }

    /** The memory file new pages come from: the highest ranking, the newest among equals (as memmap.mm serves). */
    private MemoryFile servingMemoryFile() {
        return memoryFiles.entrySet().stream().max(Map.Entry.comparingByKey()).map(Map.Entry::getValue).orElse(null);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.unuse(this, f);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindAddressSpaces(AddressSpaces s) {
        addressSpaces = s;
    }

    void unbindAddressSpaces(AddressSpaces s) {
        if (addressSpaces == s) {
            addressSpaces = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.put(ref, p);
    }

    void unbindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.remove(ref);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile f) {
        memoryFiles.put(ref, f);
    }

    void unbindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile f) {
        memoryFiles.remove(ref);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindSysV(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory s) {
        sysvs.put(ref, s);
    }

    void unbindSysV(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory s) {
        sysvs.remove(ref);
    }

    @Override
    public void renderContent(HttpServletRequest request, HttpServletResponse response) throws IOException {
        PrintWriter out = response.getWriter();
        out.println("<style>#memmap h2{font-size:15px;font-weight:bold;margin:14px 0 6px}#memmap h3{font-size:13px;font-weight:bold;margin:10px 0 2px}"
                + "#memmap p{margin:2px 0 6px}#memmap svg{display:block;max-width:100%}#memmap pre{font-size:11px}</style>");
        out.println("<div id=\"memmap\" style=\"padding:8px\">");
        out.println("<p><label><input type=\"checkbox\" id=\"memmap-refresh\"> refresh every 5 s</label></p>");
        renderProviders(out);
        renderSpaces(out);
        renderUsage(out);
        renderSegments(out);
        out.println("</div>");
        out.println("<script>(function(){var c=document.getElementById('memmap-refresh');"
                + "c.checked=localStorage.getItem('memmap.refresh')==='1';"
                + "c.onchange=function(){localStorage.setItem('memmap.refresh',c.checked?'1':'0');if(c.checked)location.reload();};"
                + "if(c.checked)setTimeout(function(){location.reload();},5000);})();</script>");
    }

    private void renderProviders(PrintWriter out) {
        AddressSpaces as = addressSpaces;
        out.println("<h2>Providers</h2>");
        out.println("<table id=\"memmap-providers\" class=\"tablesorter nicetable\"><thead><tr><th>Kind</th><th>Provider</th><th>Bundle</th>"
                + "<th>Version</th><th>Ranking</th><th>Serving</th><th>Backings</th><th>Allocated</th><th>Committed</th></tr></thead><tbody>");
        List<Map.Entry<ServiceReference<BackingProvider>, BackingProvider>> ps = new ArrayList<>(providers.entrySet());
        ps.sort(Comparator.comparing((Map.Entry<ServiceReference<BackingProvider>, BackingProvider> e) -> e.getValue().kind())
                .thenComparing(Map.Entry::getKey, Comparator.reverseOrder()));
        for (var e : ps) {
            BackingProvider p = e.getValue();
            ServiceReference<BackingProvider> r = e.getKey();
            boolean serving = as != null && as.serving(p.kind()).filter(p.id()::equals).isPresent();
            ProviderUsage u = p.usage();
            Object ranking = r.getProperty(Constants.SERVICE_RANKING);
            out.printf("<tr class=\"provider %s\"><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td></tr>%n",
                    serving ? "serving" : "standby", Html.esc(p.kind().id()), Html.esc(p.id()),
                    Html.esc(r.getBundle() == null ? "?" : r.getBundle().getSymbolicName()),
                    Html.esc(r.getBundle() == null ? "?" : r.getBundle().getVersion().toString()), ranking == null ? "0" : Html.esc(ranking.toString()),
                    serving ? "serving" : "", u.liveBackings(), Html.bytes(u.allocatedBytes()), Html.bytes(u.committedBytes()));
        }
        out.println("</tbody></table>");
        if (as == null) {
            out.println("<p class=\"memmap-missing\">memmap.mm's AddressSpaces service is not registered.</p>");
        }
    }

    private void renderSpaces(PrintWriter out) {
        AddressSpaces as = addressSpaces;
        out.println("<h2>Address spaces</h2>");
        StringBuilder legend = new StringBuilder("<p class=\"memmap-legend\">");
        for (SpaceLayout.Kind k : SpaceLayout.Kind.values()) {
            legend.append(String.format("<span style=\"display:inline-block;width:12px;height:12px;background:%s\"></span> %s &nbsp; ", k.colour, k.id));
        }
        legend.append("— writable solid, read-only lighter, no access faint; private (copy-on-write) outlined dashed, executable outlined black; "
                + "vma widths to scale, gaps wider than everything mapped drawn as // breaks. Hover a vma for its maps line.</p>");
        out.println(legend);
        List<AddressSpace> live = as == null ? List.of() : as.live();
        if (live.isEmpty()) {
            out.println("<p id=\"memmap-no-spaces\">No address space is live.</p>");
        }
        for (AddressSpace space : live) {
            String maps = space.maps(CTX);
            List<SpaceLayout.Vma> vmas = SpaceLayout.parse(maps);
            out.printf("<h3 id=\"memmap-space-%d\">Address space %d</h3><p>%d maps lines, %s mapped (VmSize), %s resident (VmRSS)</p>%n", space.id(), space.id(),
                    vmas.size(), Html.bytes(space.usageAS()), Html.bytes(space.rss()));
            out.println(SpaceLayout.svg(vmas, space.id(), 36));
            out.printf("<details><summary>maps</summary><pre class=\"memmap-maps\">%s</pre></details>%n", Html.esc(maps));
        }
    }

    private void renderUsage(PrintWriter out) {
        out.println("<h2>Memory file usage per cgroup</h2>");
        MemoryFile mf = servingMemoryFile();
        if (mf == null) {
            out.println("<p>No memory file is registered.</p>");
            return;
        }
        MemoryUsage u = mf.usage();
        long limit = mf.limit();
        out.printf("<p id=\"memmap-memory-file\">%s: %s allocated of %s, %s committed, %s retained, file %s; sampled every %d s</p>%n",
                Html.esc(mf.toString()), Html.bytes(u.allocated()), limit == -1L ? "no limit" : Html.bytes(limit), Html.bytes(u.committed()),
                Html.bytes(u.retained()), Html.bytes(u.fileSize()), sampleSeconds);
        out.println(UsageHistory.svg(history.samples(), 1000, 200));
        out.println("<table id=\"memmap-cgroups\" class=\"nicetable\"><thead><tr><th>Memory cgroup</th><th>Allocated</th><th>Committed</th></tr></thead><tbody>");
        new TreeMap<>(u.byCgroup()).forEach((cg, c) -> out.printf("<tr><td>%d</td><td>%s</td><td>%s</td></tr>%n", cg, Html.bytes(c.allocated()),
                Html.bytes(c.committed())));
        out.println("</tbody></table>");
    }

    private void renderSegments(PrintWriter out) {
        out.println("<h2>System V shared memory (ipcs -m)</h2>");
        out.println("<table id=\"memmap-ipcs\" class=\"nicetable\"><thead><tr><th>key</th><th>shmid</th><th>owner</th><th>perms</th><th>bytes</th>"
                + "<th>nattch</th><th>status</th></tr></thead><tbody>");
        for (SysVSharedMemory s : sysvs.values()) {
            for (SysVSharedMemory.ShmStat st : s.list()) {
                out.printf("<tr class=\"segment\"><td>0x%08x</td><td>%d</td><td>%d</td><td>%o</td><td>%d</td><td>%d</td><td>%s</td></tr>%n", st.key(),
                        st.id(), st.uid(), st.mode() & 0777, st.size(), st.nattach(), (st.mode() & SysVSharedMemory.SHM_DEST) != 0 ? "dest" : "");
            }
        }
        out.println("</tbody></table>");
    }
}
