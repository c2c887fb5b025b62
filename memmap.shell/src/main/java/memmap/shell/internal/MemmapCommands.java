package memmap.shell.internal;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.felix.service.command.Descriptor;
import org.apache.felix.service.command.Parameter;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.AddrRange;
import memmap.api.PinnedView;
import memmap.api.MLockMode;
import memmap.api.MRemapMove;
import memmap.api.IoOpts;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.MemoryUsage;
import memmap.api.Pages;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.PosixSharedMemory;
import memmap.api.provider.ProviderUsage;
import memmap.api.provider.SysVSharedMemory;

/**
 * The runtime's Gogo commands (scope {@code memmap}): look at the providers, make address
 * spaces and map, remap, protect, lock, advise, sync, read and write (also ignoring the
 * protection, as ptrace does) in them, fork them, move their break, attach System V segments,
 * pin views, and list maps, smaps, residency, segments and memory usage. Address spaces made
 * here are numbered from 1, pinned views too; both live until {@code release}/{@code unpin} or
 * until the component goes.
 *
 * <p>Every command returns text (Gogo prints it) or throws: {@link IllegalArgumentException}
 * naming the argument and value for bad input, {@link MemmapException} with the errno for what
 * the address space refuses.
 */
@Component(service = MemmapCommands.class, property = {
        "osgi.command.scope=memmap",
        "osgi.command.function=providers", "osgi.command.function=space", "osgi.command.function=spaces",
        "osgi.command.function=release", "osgi.command.function=mmap", "osgi.command.function=munmap",
        "osgi.command.function=mprotect", "osgi.command.function=msync", "osgi.command.function=read",
        "osgi.command.function=write", "osgi.command.function=maps", "osgi.command.function=ipcs",
        "osgi.command.function=usage", "osgi.command.function=fork", "osgi.command.function=mremap",
        "osgi.command.function=mlock", "osgi.command.function=munlock", "osgi.command.function=madvise",
        "osgi.command.function=shmget", "osgi.command.function=shmat", "osgi.command.function=shmdt",
        "osgi.command.function=shmctl", "osgi.command.function=smaps", "osgi.command.function=brk",
        "osgi.command.function=mincore", "osgi.command.function=pin", "osgi.command.function=pins",
        "osgi.command.function=unpin"})
public final class MemmapCommands {
    private static final Context CTX = Context.background();

    private final BundleContext bundleContext;
    private final AddressSpaces addressSpaces;
    private final Map<Integer, AddressSpace> spaces = new ConcurrentSkipListMap<>();
    private final AtomicInteger nextSpace = new AtomicInteger(1);
    private final Map<Integer, PinnedView> views = new ConcurrentSkipListMap<>();
    private final AtomicInteger nextView = new AtomicInteger(1);

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<SysVSharedMemory> sysvs;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<MemoryFile> memoryFiles;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<PosixSharedMemory> posixShms;

    @Activate
    public MemmapCommands(BundleContext bundleContext, @Reference AddressSpaces addressSpaces) {
        this.bundleContext = bundleContext;
        this.addressSpaces = addressSpaces;
    }

    /** The address spaces made here go with the commands. */
    @Deactivate
    void deactivate() {
        views.values().forEach(PinnedView::close);
        views.clear();
        spaces.values().forEach(as -> as.release(CTX));
        spaces.clear();
    }

    @Descriptor("list the backing providers: kind, bundle, version, ranking, usage (the one serving a kind is marked *)")
    public String providers() throws InvalidSyntaxException {
        var refs = new TreeMap<ServiceReference<BackingProvider>, BackingProvider>(java.util.Comparator.reverseOrder());
        for (ServiceReference<BackingProvider> r : bundleContext.getServiceReferences(BackingProvider.class, null)) {
            BackingProvider p = bundleContext.getService(r);
            if (p != null) {
                refs.put(r, p);
            }
        }
        StringBuilder sb = new StringBuilder(String.format("%-2s%-10s %-16s %-14s %7s %8s %12s %12s%n",
                "", "KIND", "BUNDLE", "VERSION", "RANKING", "BACKINGS", "ALLOCATED", "COMMITTED"));
        try {
            for (var e : refs.entrySet()) {
                ServiceReference<BackingProvider> r = e.getKey();
                BackingProvider p = e.getValue();
                ProviderUsage u = p.usage();
                Object ranking = r.getProperty(Constants.SERVICE_RANKING);
                // Marked by the address spaces' own choice: where new mappings of the kind go.
                boolean serving = addressSpaces.serving(p.kind()).filter(p.id()::equals).isPresent();
                sb.append(String.format("%-2s%-10s %-16s %-14s %7s %8d %12d %12d%n", serving ? "*" : "",
                        p.kind().id(), r.getBundle().getSymbolicName(), r.getBundle().getVersion(),
                        ranking == null ? 0 : ranking, u.liveBackings(), u.allocatedBytes(), u.committedBytes()));
            }
        } finally {
            refs.keySet().forEach(bundleContext::ungetService);
        }
        return sb.toString();
    }

    @Descriptor("create an address space; prints its number")
    public String space() {
        int n = nextSpace.getAndIncrement();
        spaces.put(n, addressSpaces.create(CTX));
        return "space " + n;
    }

    @Descriptor("list the address spaces made here with their size and resident bytes")
    public String spaces() {
        StringBuilder sb = new StringBuilder(String.format("%5s %14s %14s%n", "SPACE", "MAPPED", "RESIDENT"));
        spaces.forEach((n, as) -> sb.append(String.format("%5d %14d %14d%n", n, as.usageAS(), as.rss())));
        return sb.toString();
    }

    @Descriptor("unmap everything in an address space and forget it")
    public String release(@Descriptor("address space number") String space) {
        AddressSpace as = spaces.remove(Args.space(space, spaces.keySet()));
        as.release(CTX);
        return "released " + space;
    }

    /** What Gogo passes for an option not given: no argument can be this string. */
    static final String ABSENT = "\u0000absent";

    @Descriptor("map memory: anonymous (shared unless --private), a host file (--file) or POSIX shared memory (--shm); prints the address")
    public String mmap(
            @Descriptor("private (copy-on-write) instead of shared") @Parameter(names = {"-p", "--private"}, presentValue = "true", absentValue = "false") boolean isPrivate,
            @Descriptor("permissions, any of r w x, or - for none") @Parameter(names = "--perms", absentValue = "rw") String perms,
            @Descriptor("a host file to map") @Parameter(names = "--file", absentValue = ABSENT) String file,
            @Descriptor("a POSIX shared-memory name to map (it must exist, unless --create)") @Parameter(names = "--shm", absentValue = ABSENT) String shm,
            @Descriptor("with --shm: create the segment if it does not exist, sized to offset + length") @Parameter(names = "--create", presentValue = "true", absentValue = "false") boolean create,
            @Descriptor("offset into the file or segment (page-aligned)") @Parameter(names = "--offset", absentValue = "0") String offset,
            @Descriptor("address space number") String space,
            @Descriptor("bytes (decimal, 0x hex, or with K, M, G)") String length) throws MemmapException {
        AddressSpace as = open(space);
        long len = Args.number("length", length);
        AccessType p = Args.perms("perms", perms);
        long off = Args.number("offset", offset);
        boolean hasFile = !ABSENT.equals(file);
        boolean hasShm = !ABSENT.equals(shm);
        if (hasFile && file.isEmpty()) {
            throw new IllegalArgumentException("--file = \"\" is empty: name the file to map");
        }
        if (hasShm && shm.isEmpty()) {
            throw new IllegalArgumentException("--shm = \"\" is empty: name the segment to map");
        }
        if (hasFile && hasShm) {
            throw new IllegalArgumentException("--file = " + file + " and --shm = " + shm + ": map one or the other");
        }
        if (create && !hasShm) {
            throw new IllegalArgumentException("--create is for --shm: it creates a shared-memory segment");
        }
        if (off != 0 && !hasFile && !hasShm) {
            throw new IllegalArgumentException("--offset = " + offset + " is for --file or --shm: anonymous memory has no offset");
        }
        // Everything the address space would refuse for these numbers, refused before a
        // segment is created (so a refusal leaves nothing behind).
        if (len == 0) {
            throw new IllegalArgumentException("length = " + length + ": a mapping has at least one byte");
        }
        Pages.Rounded rounded = Pages.roundUp(len);
        if (!rounded.ok() || !Pages.addFits(off, rounded.value())) {
            throw new IllegalArgumentException("length = " + length + " with offset = " + offset + " overflows 64 bits");
        }
        if (!Pages.isPageAligned(off)) {
            throw new IllegalArgumentException("--offset = " + offset + " is not a multiple of the page size (" + Pages.PAGE_SIZE + ")");
        }
        MMapOpts opts = MMapOpts.builder().length(len).isPrivate(isPrivate).perms(p).offset(off).build();
        Backing backing = null;
        boolean created = false;
        if (hasFile) {
            Path path;
            try {
                path = Path.of(file);
            } catch (java.nio.file.InvalidPathException e) {
                throw new IllegalArgumentException("--file = " + file + " is not a path: " + e.getReason());
            }
            backing = addressSpaces.backing(CTX, new BackingRequest.HostFile(path, !isPrivate && p.write()));
        } else if (hasShm) {
            try {
                backing = addressSpaces.backing(CTX, new BackingRequest.SharedMemory(shm, 0, false));
            } catch (MemmapException e) {
                if (!e.errno().equals(Errno.ENOENT)) {
                    throw e;
                }
                if (!create) {
                    throw Errno.ENOENT.exception("--shm = " + shm + ": no such segment (--create makes it)");
                }
                backing = addressSpaces.backing(CTX, new BackingRequest.SharedMemory(shm, off + rounded.value(), true));
                created = true;
            }
        }
        try {
            return Args.hex(as.mmap(CTX, backing == null ? opts : backing.configure(opts)));
        } catch (MemmapException | RuntimeException e) {
            if (created) {
                unlinkQuietly(shm);
            }
            throw e;
        } finally {
            if (backing != null) {
                backing.identity().decRef(CTX); // the mapping holds its own
            }
        }
    }

    /** Removes a segment this command created and could not map, so a failure leaves nothing behind. */
    private void unlinkQuietly(String name) {
        List<PosixSharedMemory> ps = posixShms;
        if (ps != null && !ps.isEmpty()) {
            try {
                ps.getLast().unlink(CTX, name);
            } catch (MemmapException ignored) {
                // Already gone: nothing left behind.
            }
        }
    }

    @Descriptor("unmap a range")
    public String munmap(@Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length) throws MemmapException {
        open(space).munmap(CTX, Args.number("addr", addr), Args.number("length", length));
        return "";
    }

    @Descriptor("change the permissions of a range")
    public String mprotect(@Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length, @Descriptor("any of r w x, or - for none") String perms) throws MemmapException {
        open(space).mprotect(CTX, Args.number("addr", addr), Args.number("length", length),
                Args.perms("perms", perms));
        return "";
    }

    @Descriptor("write a range back to its file (MS_SYNC)")
    public String msync(@Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length) throws MemmapException {
        open(space).msync(CTX, Args.number("addr", addr), Args.number("length", length), true, false);
        return "";
    }

    @Descriptor("read bytes; prints hex, or text with --text; --force reads what the protection refuses (ptrace)")
    public String read(
            @Descriptor("print as text (UTF-8)") @Parameter(names = {"-t", "--text"}, presentValue = "true", absentValue = "false") boolean text,
            @Descriptor("ignore the protection, as ptrace and /proc/[pid]/mem do") @Parameter(names = {"-f", "--force"}, presentValue = "true", absentValue = "false") boolean force,
            @Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes (at most 1 MiB)") String length) throws MemmapException {
        AddressSpace as = open(space);
        long n = Args.number("length", length);
        if (Long.compareUnsigned(n, 1 << 20) > 0) {
            throw new IllegalArgumentException("length = " + length + " is more than 1 MiB");
        }
        byte[] out = new byte[(int) n];
        IoResult r = as.read(CTX, Args.number("addr", addr), MemorySegment.ofArray(out), force ? IoOpts.FORCE : IoOpts.DEFAULT);
        if (r.error() != null) {
            throw r.error().toException();
        }
        return text ? new String(out, StandardCharsets.UTF_8) : HexFormat.ofDelimiter(" ").formatHex(out);
    }

    @Descriptor("write bytes: text (as UTF-8), or hex with --hex; --force writes what the protection refuses (ptrace)")
    public String write(
            @Descriptor("the data is hex digits") @Parameter(names = {"-x", "--hex"}, presentValue = "true", absentValue = "false") boolean hex,
            @Descriptor("ignore the protection, as ptrace and /proc/[pid]/mem do") @Parameter(names = {"-f", "--force"}, presentValue = "true", absentValue = "false") boolean force,
            @Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("the data") String data) throws MemmapException {
        AddressSpace as = open(space);
        byte[] bytes = hex ? Args.hexBytes("data", data) : data.getBytes(StandardCharsets.UTF_8);
        IoResult r = as.write(CTX, Args.number("addr", addr), MemorySegment.ofArray(bytes), force ? IoOpts.FORCE : IoOpts.DEFAULT);
        if (r.error() != null) {
            throw r.error().toException();
        }
        return "wrote " + r.n();
    }

    @Descriptor("fork an address space; prints the child's number")
    public String fork(@Descriptor("address space number") String space) throws MemmapException {
        AddressSpace child = open(space).fork(CTX);
        int n = nextSpace.getAndIncrement();
        spaces.put(n, child);
        return "space " + n;
    }

    @Descriptor("resize or move a mapping (--may-move, or --to ADDR to move it there); prints its address")
    public String mremap(
            @Descriptor("move it elsewhere if it cannot grow in place") @Parameter(names = "--may-move", presentValue = "true", absentValue = "false") boolean mayMove,
            @Descriptor("move it to this address (MREMAP_FIXED)") @Parameter(names = "--to", absentValue = ABSENT) String to,
            @Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("old bytes") String oldLength, @Descriptor("new bytes") String newLength) throws MemmapException {
        AddressSpace as = open(space);
        boolean fixed = !ABSENT.equals(to);
        MRemapMove move = fixed ? MRemapMove.MUST_MOVE : mayMove ? MRemapMove.MAY_MOVE : MRemapMove.NO_MOVE;
        return Args.hex(as.mremap(CTX, Args.number("addr", addr), Args.number("oldLength", oldLength), Args.number("newLength", newLength),
                move, fixed ? Args.number("--to", to) : 0));
    }

    @Descriptor("lock a range in memory (mlock; --on-fault: MLOCK_ONFAULT)")
    public String mlock(
            @Descriptor("lock pages as they are faulted in, not now") @Parameter(names = "--on-fault", presentValue = "true", absentValue = "false") boolean onFault,
            @Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length) throws MemmapException {
        open(space).mlock(CTX, Args.number("addr", addr), Args.number("length", length),
                onFault ? MLockMode.LAZY : MLockMode.EAGER);
        return "";
    }

    @Descriptor("unlock a range (munlock)")
    public String munlock(@Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length) throws MemmapException {
        open(space).mlock(CTX, Args.number("addr", addr), Args.number("length", length), MLockMode.NONE);
        return "";
    }

    @Descriptor("advise about a range (madvise): normal, random, sequential, willneed, dontneed, dontfork, dofork, ...")
    public String madvise(@Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length, @Descriptor("the advice") String advice) throws MemmapException {
        open(space).madvise(CTX, Args.number("addr", addr), Args.number("length", length),
                Args.advice("advice", advice));
        return "";
    }

    @Descriptor("get a System V shared-memory segment (shmget; --create: IPC_CREAT, --excl: IPC_EXCL); prints its id")
    public String shmget(
            @Descriptor("create it if the key has none") @Parameter(names = "--create", presentValue = "true", absentValue = "false") boolean create,
            @Descriptor("with --create: fail if it exists") @Parameter(names = "--excl", presentValue = "true", absentValue = "false") boolean excl,
            @Descriptor("permission bits, octal") @Parameter(names = "--mode", absentValue = "600") String mode,
            @Descriptor("key (0: IPC_PRIVATE)") String key, @Descriptor("bytes") String size) throws MemmapException {
        int bits;
        try {
            bits = Integer.parseInt(mode, 8);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--mode = " + mode + " is not octal permission bits");
        }
        if ((bits & ~0777) != 0) {
            throw new IllegalArgumentException("--mode = " + mode + " has bits beyond 0777");
        }
        if (excl && !create) {
            throw new IllegalArgumentException("--excl is for --create: it refuses an existing segment");
        }
        long k = Args.number("key", key);
        if (Long.compareUnsigned(k, 0xffff_ffffL) > 0) {
            throw new IllegalArgumentException("key = " + key + " does not fit 32 bits");
        }
        int flags = bits | (create ? SysVSharedMemory.IPC_CREAT : 0) | (excl ? SysVSharedMemory.IPC_EXCL : 0);
        return "shmid " + sysv().get(CTX, (int) k, Args.number("size", size), flags);
    }

    @Descriptor("attach a System V segment (shmat; --read-only: SHM_RDONLY); prints the address")
    public String shmat(
            @Descriptor("attach read-only") @Parameter(names = "--read-only", presentValue = "true", absentValue = "false") boolean readOnly,
            @Descriptor("address space number") String space, @Descriptor("segment id") String id) throws MemmapException {
        return Args.hex(open(space).shmat(CTX, Args.id("id", id), 0,
                readOnly ? SysVSharedMemory.SHM_RDONLY : 0));
    }

    @Descriptor("detach the System V segment attached at an address (shmdt)")
    public String shmdt(@Descriptor("address space number") String space, @Descriptor("address") String addr) throws MemmapException {
        open(space).shmdt(CTX, Args.number("addr", addr));
        return "";
    }

    @Descriptor("control a System V segment (shmctl): stat, or rmid")
    public String shmctl(@Descriptor("segment id") String id, @Descriptor("stat or rmid") String cmd) throws MemmapException {
        int i = Args.id("id", id);
        return switch (cmd) {
            case "stat" -> {
                SysVSharedMemory.ShmStat st = sysv().stat(CTX, i);
                yield String.format("shmid %d key 0x%08x owner %d perms %o bytes %d nattch %d", st.id(), st.key(), st.uid(), st.mode() & 0777,
                        st.size(), st.nattach());
            }
            case "rmid" -> {
                sysv().remove(CTX, i);
                yield "";
            }
            default -> throw new IllegalArgumentException("cmd = " + cmd + " is not stat or rmid");
        };
    }

    private SysVSharedMemory sysv() throws MemmapException {
        List<SysVSharedMemory> ss = sysvs;
        if (ss == null || ss.isEmpty()) {
            throw memmap.api.Errno.ENODEV.exception("no provider for kind shm");
        }
        return ss.getLast();
    }

    @Descriptor("print an address space's smaps, as /proc/[pid]/smaps")
    public String smaps(@Descriptor("address space number") String space) {
        return open(space).smaps(CTX);
    }

    @Descriptor("move the program break (brk; --setup sets where the heap starts); prints the heap")
    public String brk(
            @Descriptor("set the heap's start here (BrkSetup) instead of moving the break") @Parameter(names = "--setup", presentValue = "true", absentValue = "false") boolean setup,
            @Descriptor("address space number") String space, @Descriptor("the new break (or start)") String addr) throws MemmapException {
        AddressSpace as = open(space);
        long a = Args.number("addr", addr);
        if (setup) {
            as.brkSetup(CTX, a);
        } else {
            as.brk(CTX, a);
        }
        AddrRange h = as.heap();
        return "heap " + Args.hex(h.start()) + "-" + Args.hex(h.end());
    }

    @Descriptor("which pages of a range are resident (mincore): one digit per page")
    public String mincore(@Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length) throws MemmapException {
        byte[] v = open(space).mincore(CTX, Args.number("addr", addr), Args.number("length", length));
        StringBuilder sb = new StringBuilder(v.length);
        for (byte b : v) {
            sb.append(b & 1);
        }
        return sb.toString();
    }

    @Descriptor("pin a range for direct access (--write to write it; --force ignores the protection); prints the view's number")
    public String pin(
            @Descriptor("pin for writing too") @Parameter(names = {"-w", "--write"}, presentValue = "true", absentValue = "false") boolean write,
            @Descriptor("ignore the protection, as ptrace does") @Parameter(names = {"-f", "--force"}, presentValue = "true", absentValue = "false") boolean force,
            @Descriptor("address space number") String space, @Descriptor("address") String addr,
            @Descriptor("bytes") String length) throws MemmapException {
        AddressSpace as = open(space);
        PinnedView v = as.pin(CTX, Args.number("addr", addr), Args.number("length", length), write ? AccessType.READ_WRITE : AccessType.READ, force);
        int n = nextView.getAndIncrement();
        views.put(n, v);
        return "view " + n + " " + v.range() + " in " + v.pieces().size() + " pieces";
    }

    @Descriptor("list the pinned views: range, access, stale or live")
    public String pins() {
        StringBuilder sb = new StringBuilder(String.format("%5s %-40s %-6s %s%n", "VIEW", "RANGE", "ACCESS", "STATE"));
        views.forEach((n, v) -> sb.append(String.format("%5d %-40s %-6s %s%n", n, v.range(), v.access(), v.isStale() ? "stale" : "live")));
        return sb.toString();
    }

    @Descriptor("close a pinned view (unpin)")
    public String unpin(@Descriptor("view number") String view) {
        PinnedView v = views.remove(Args.view(view, views.keySet()));
        v.close();
        return "unpinned " + view;
    }

    @Descriptor("print an address space's maps, as /proc/[pid]/maps")
    public String maps(@Descriptor("address space number") String space) {
        return open(space).maps(CTX);
    }

    @Descriptor("list System V shared-memory segments, as ipcs -m")
    public String ipcs() throws MemmapException {
        List<SysVSharedMemory> ss = sysvs;
        if (ss == null || ss.isEmpty()) {
            throw memmap.api.Errno.ENODEV.exception("no provider for kind shm");
        }
        StringBuilder sb = new StringBuilder("\n------ Shared Memory Segments --------\n");
        sb.append(String.format("%-10s %-10s %-10s %-10s %-10s %-10s %-12s%n", "key", "shmid", "owner", "perms", "bytes", "nattch",
                "status"));
        for (SysVSharedMemory.ShmStat s : ss.getLast().list()) {
            String status = ((s.mode() & 01000) != 0 ? "dest " : "") + ((s.mode() & 02000) != 0 ? "locked" : "");
            sb.append(String.format("0x%08x %-10d %-10d %-10o %-10d %-10d %-12s%n", s.key(), s.id(), s.uid(), s.mode() & 0777,
                    s.size(), s.nattach(), status.strip()));
        }
        return sb.append('\n').toString();
    }

    @Descriptor("memory usage of the memory file, in total and per memory cgroup")
    public String usage() throws MemmapException {
        List<MemoryFile> mfs = memoryFiles;
        if (mfs == null || mfs.isEmpty()) {
            throw memmap.api.Errno.ENODEV.exception("no MemoryFile service: is memmap.anon running?");
        }
        MemoryUsage u = mfs.getLast().usage();
        StringBuilder sb = new StringBuilder(String.format("allocated %d committed %d retained %d file %d%n", u.allocated(),
                u.committed(), u.retained(), u.fileSize()));
        sb.append(String.format("%8s %14s %14s%n", "CGROUP", "ALLOCATED", "COMMITTED"));
        new TreeMap<>(u.byCgroup()).forEach((id, c) -> sb.append(String.format("%8d %14d %14d%n", id, c.allocated(), c.committed())));
        return sb.toString();
    }

    /** The open address space numbered {@code space}, else an error naming the argument. */
    private AddressSpace open(String space) {
        return spaces.get(Args.space(space, spaces.keySet()));
    }

    /** The address space numbered {@code space} here (for {@link CheckpointCommands}); IllegalArgumentException naming it if none. */
    AddressSpace spaceNumbered(String space) {
        return open(space);
    }

    /** Every address space made here, by number. */
    Map<Integer, AddressSpace> spacesByNumber() {
        return java.util.Collections.unmodifiableMap(new TreeMap<>(spaces)); // in number order
    }

    /** Numbers {@code as} here (a restored space); its number. */
    int adopt(AddressSpace as) {
        int n = nextSpace.getAndIncrement();
        spaces.put(n, as);
        return n;
    }

    /** For tests: how many address spaces are open. */
    int openSpaces() {
        return spaces.size();
    }
}
