package memmap.bench;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.AddrRange;
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.MappableRange;
import memmap.api.MappingSpace;
import memmap.api.MemmapException;
import memmap.api.TranslateResult;
import memmap.api.provider.SysVSharedMemory;
import memmap.shm.internal.ShmProvider;

/**
 * memmap.shm: shmget of an existing segment + attach + detach (what an address space does
 * around it: take the mapping reference, AddMapping, RemoveMapping, drop it), and translate
 * of a page of an attached segment (aim ≤ 100 ns).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-XX:+UseTransparentHugePages", "--enable-native-access=ALL-UNNAMED"})
public class ShmBench {
    static final Context CTX = Context.background().withThreadGroupId(1);
    static final MappingSpace SPACE = (ar, o) -> { };
    static final AddrRange AT = new AddrRange(0x10000, 0x20000);

    MemfdMemoryFile mf;
    ShmProvider shm;
    MMapOpts attached;
    MappableRange page = new MappableRange(0x3000, 0x4000);
    MappableRange whole = new MappableRange(0, 0x10000);

    @Setup(Level.Trial)
    public void setup() throws MemmapException {
        mf = new MemfdMemoryFile("shm-bench", 1L << 30, 1L << 30, 64L << 20, false);
        shm = new ShmProvider(mf, config(), Map.of("component.id", 1L));
        int id = shm.get(CTX, 1234, 0x10000, SysVSharedMemory.IPC_CREAT | 0600);
        try (SysVSharedMemory.Attachment a = shm.attach(CTX, id, 0, 0)) {
            attached = a.opts();
            attached.mappingIdentity().incRef();
        }
    }

    static ShmProvider.Config config() {
        return new ShmProvider.Config() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return ShmProvider.Config.class;
            }

            @Override
            public long shmMin() {
                return 1;
            }

            @Override
            public long shmMax() {
                return -1L - (1L << 24);
            }

            @Override
            public long shmAll() {
                return -1L - (1L << 24);
            }

            @Override
            public long shmMni() {
                return 4096;
            }

            @Override
            public String posixDirectory() {
                return "/dev/shm";
            }

            @Override
            public long deviceId() {
                return 1;
            }
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        attached.mappingIdentity().decRef(CTX);
        mf.release(); // the JVM ends with the trial; the registry's own segment goes with it
    }

    @Benchmark
    public int getAttachDetach() throws MemmapException {
        int id = shm.get(CTX, 1234, 0x10000, 0600);
        try (SysVSharedMemory.Attachment a = shm.attach(CTX, id, 0, 0)) {
            MMapOpts o = a.opts();
            o.mappingIdentity().incRef();
            o.mappable().addMapping(CTX, SPACE, AT, 0, true);
            o.mappable().removeMapping(CTX, SPACE, AT, 0, true);
            o.mappingIdentity().decRef(CTX);
        }
        return id;
    }

    @Benchmark
    public TranslateResult translatePage() {
        return attached.mappable().translate(CTX, page, whole, AccessType.READ_WRITE);
    }
}
