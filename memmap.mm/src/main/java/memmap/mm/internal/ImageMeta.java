package memmap.mm.internal;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import memmap.api.AccessType;
import memmap.api.MLockMode;
import memmap.api.NameMut;
import memmap.api.checkpoint.ImageException;
import memmap.api.provider.SysVSharedMemory.ShmStat;

/**
 * An image's metadata record: what the address spaces were, without page contents. Every
 * image holds all of it (an incremental image too), so the last image of a chain says what
 * the spaces are and the page records of the chain say what their pages hold.
 *
 * <p>Pages are named by <em>frame space</em> and offset: frame space 0 is the memory file's
 * private pages (offsets as they were in the checkpointing runtime's memory file; a page shared
 * copy-on-write by several pmas is one frame), an object's frame space (its {@code frameSpace},
 * the same along a chain) its pages by offset in it.
 */
record ImageMeta(MemoryManager.Layout layout, List<Obj> objects, List<Space> spaces, List<Run> frames, long pageBytes) {

    static final int ANON_SHARED = 1;
    static final int SYSV = 2;
    static final int HOST_FILE = 3;
    static final int POSIX_SHM = 4;

    /**
     * Something vmas map, other than private anonymous memory.
     *
     * @param kind one of the constants above
     * @param name host file path or POSIX name ("" otherwise)
     * @param writable host file / POSIX shm opened for writing
     * @param size bytes (shared anonymous memory: its length; SysV: effective size; files: st_size)
     * @param device, inode, mtimeNanos the identity of a host file or POSIX segment
     * @param stat a System V segment's state (null otherwise)
     * @param memCgId cgroup its pages are charged to
     * @param frameSpace the frame space of its pages (stable along a chain)
     * @param populated the ranges of its pages that exist (shared anonymous memory, System V): a
     *     restore makes exactly these, from the chain's newest copy of each
     */
    record Obj(int kind, String name, boolean writable, long size, long device, long inode, long mtimeNanos, ShmStat stat,
            int memCgId, long frameSpace, List<long[]> populated) {
        Obj inSpace(long fs, List<long[]> pop) {
            return new Obj(kind, name, writable, size, device, inode, mtimeNanos, stat, memCgId, fs, pop);
        }
    }

    /** A vma: {@code obj} -1 for private anonymous memory. */
    record VmaRec(long start, long end, int obj, long off, int realPerms, int maxPerms, boolean isPrivate, boolean growsDown,
            boolean isStack, boolean dontfork, MLockMode mlockMode, String name, NameMut nameMut, long lastFault) {}

    /**
     * A pma: private ones name their frame (frame space 0, {@code frame}), others are
     * translations made again at restore (their {@code translatePerms} say for which access).
     */
    record PmaRec(long start, long end, boolean isPrivate, long frame, int translatePerms, int effectivePerms, int maxPerms,
            boolean needCOW) {}

    /** An address space. */
    record Space(long brkStart, long brkEnd, MLockMode defMLockMode, List<VmaRec> vmas, List<PmaRec> pmas) {}

    /** A run of frames of frame space 0 and the cgroup they are charged to. */
    record Run(long start, long end, int memCgId) {}

    static int bits(AccessType a) {
        return (a.read() ? 1 : 0) | (a.write() ? 2 : 0) | (a.execute() ? 4 : 0);
    }

    static AccessType perms(int b) {
        return new AccessType((b & 1) != 0, (b & 2) != 0, (b & 4) != 0);
    }

    byte[] encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream o = new DataOutputStream(bytes)) {
            o.writeLong(layout.minAddr());
            o.writeLong(layout.maxAddr());
            o.writeLong(layout.bottomUpBase());
            o.writeLong(layout.topDownBase());
            o.writeBoolean(layout.topDown());
            o.writeLong(pageBytes);
            o.writeInt(objects.size());
            for (Obj b : objects) {
                o.writeByte(b.kind());
                o.writeUTF(b.name());
                o.writeBoolean(b.writable());
                o.writeLong(b.size());
                o.writeLong(b.device());
                o.writeLong(b.inode());
                o.writeLong(b.mtimeNanos());
                o.writeInt(b.memCgId());
                o.writeLong(b.frameSpace());
                o.writeInt(b.populated().size());
                for (long[] r : b.populated()) {
                    o.writeLong(r[0]);
                    o.writeLong(r[1]);
                }
                o.writeBoolean(b.stat() != null);
                if (b.stat() != null) {
                    ShmStat s = b.stat();
                    o.writeInt(s.id());
                    o.writeInt(s.key());
                    o.writeInt(s.uid());
                    o.writeInt(s.gid());
                    o.writeInt(s.cuid());
                    o.writeInt(s.cgid());
                    o.writeInt(s.mode());
                    o.writeLong(s.size());
                    o.writeLong(s.atime());
                    o.writeLong(s.dtime());
                    o.writeLong(s.ctime());
                    o.writeInt(s.cpid());
                    o.writeInt(s.lpid());
                    o.writeLong(s.nattach());
                }
            }
            o.writeInt(spaces.size());
            for (Space s : spaces) {
                o.writeLong(s.brkStart());
                o.writeLong(s.brkEnd());
                o.writeByte(s.defMLockMode().ordinal());
                o.writeInt(s.vmas().size());
                for (VmaRec v : s.vmas()) {
                    o.writeLong(v.start());
                    o.writeLong(v.end());
                    o.writeInt(v.obj());
                    o.writeLong(v.off());
                    o.writeByte(v.realPerms() | v.maxPerms() << 3);
                    o.writeByte((v.isPrivate() ? 1 : 0) | (v.growsDown() ? 2 : 0) | (v.isStack() ? 4 : 0) | (v.dontfork() ? 8 : 0)
                            | (v.name() != null ? 16 : 0));
                    o.writeByte(v.mlockMode().ordinal());
                    o.writeByte(v.nameMut() == null ? 255 : v.nameMut().ordinal());
                    if (v.name() != null) {
                        o.writeUTF(v.name());
                    }
                    o.writeLong(v.lastFault());
                }
                o.writeInt(s.pmas().size());
                for (PmaRec p : s.pmas()) {
                    o.writeLong(p.start());
                    o.writeLong(p.end());
                    o.writeByte((p.isPrivate() ? 1 : 0) | (p.needCOW() ? 2 : 0));
                    o.writeLong(p.frame());
                    o.writeByte(p.translatePerms() | p.effectivePerms() << 3);
                    o.writeByte(p.maxPerms());
                }
            }
            o.writeInt(frames.size());
            for (Run r : frames) {
                o.writeLong(r.start());
                o.writeLong(r.end());
                o.writeInt(r.memCgId());
            }
        } catch (IOException e) {
            throw new IllegalStateException(e); // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    static ImageMeta decode(String image, byte[] payload) throws ImageException {
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(payload))) {
            MemoryManager.Layout layout = new MemoryManager.Layout(in.readLong(), in.readLong(), in.readLong(), in.readLong(),
                    in.readBoolean());
            long pageBytes = in.readLong();
            int n = count(image, in, "objects");
            List<Obj> objects = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int kind = in.readByte();
                if (kind < ANON_SHARED || kind > POSIX_SHM) {
                    throw new ImageException(image + ": object " + i + " has unknown kind " + kind);
                }
                String name = in.readUTF();
                boolean w = in.readBoolean();
                long size = in.readLong();
                long dev = in.readLong();
                long ino = in.readLong();
                long mtime = in.readLong();
                int cg = in.readInt();
                long fs = in.readLong();
                int np = count(image, in, "populated ranges");
                List<long[]> pop = new ArrayList<>(np);
                for (int j = 0; j < np; j++) {
                    pop.add(new long[] {in.readLong(), in.readLong()});
                }
                ShmStat stat = null;
                if (in.readBoolean()) {
                    stat = new ShmStat(in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(), in.readInt(),
                            in.readLong(), in.readLong(), in.readLong(), in.readLong(), in.readInt(), in.readInt(), in.readLong());
                }
                objects.add(new Obj(kind, name, w, size, dev, ino, mtime, stat, cg, fs, pop));
            }
            int ns = count(image, in, "address spaces");
            List<Space> spaces = new ArrayList<>(ns);
            MLockMode[] modes = MLockMode.values();
            NameMut[] muts = NameMut.values();
            for (int i = 0; i < ns; i++) {
                long bs = in.readLong();
                long be = in.readLong();
                MLockMode def = modes[in.readByte()];
                int nv = count(image, in, "vmas");
                List<VmaRec> vmas = new ArrayList<>(nv);
                for (int j = 0; j < nv; j++) {
                    long s = in.readLong();
                    long e = in.readLong();
                    int obj = in.readInt();
                    if (obj < -1 || obj >= objects.size()) {
                        throw new ImageException(image + ": vma " + j + " of address space " + i + " names object " + obj + " of " + objects.size());
                    }
                    long off = in.readLong();
                    int perms = in.readByte();
                    int flags = in.readByte();
                    MLockMode m = modes[in.readByte()];
                    int mut = in.readByte() & 0xff;
                    String name = (flags & 16) != 0 ? in.readUTF() : null;
                    vmas.add(new VmaRec(s, e, obj, off, perms & 7, (perms >> 3) & 7, (flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0,
                            (flags & 8) != 0, m, name, mut == 255 ? null : muts[mut], in.readLong()));
                }
                int np = count(image, in, "pmas");
                List<PmaRec> pmas = new ArrayList<>(np);
                for (int j = 0; j < np; j++) {
                    long s = in.readLong();
                    long e = in.readLong();
                    int f = in.readByte();
                    long frame = in.readLong();
                    int p = in.readByte();
                    pmas.add(new PmaRec(s, e, (f & 1) != 0, frame, p & 7, (p >> 3) & 7, in.readByte(), (f & 2) != 0));
                }
                spaces.add(new Space(bs, be, def, vmas, pmas));
            }
            int nf = count(image, in, "frame runs");
            List<Run> frames = new ArrayList<>(nf);
            for (int i = 0; i < nf; i++) {
                frames.add(new Run(in.readLong(), in.readLong(), in.readInt()));
            }
            if (in.available() != 0) {
                throw new ImageException(image + ": the metadata record has " + in.available() + " bytes after its end");
            }
            return new ImageMeta(layout, objects, spaces, frames, pageBytes);
        } catch (java.io.EOFException | ArrayIndexOutOfBoundsException e) {
            throw new ImageException(image + ": the metadata record ends before its contents do (it is corrupt)");
        } catch (IOException e) {
            throw new ImageException(image + ": the metadata record cannot be read: " + e, e);
        }
    }

    private static int count(String image, DataInputStream in, String what) throws IOException, ImageException {
        int n = in.readInt();
        if (n < 0 || n > in.available()) {
            throw new ImageException(image + ": the metadata record claims " + Integer.toUnsignedString(n) + " " + what + " (it is corrupt)");
        }
        return n;
    }
}
