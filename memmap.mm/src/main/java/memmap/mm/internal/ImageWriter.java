package memmap.mm.internal;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

import memmap.api.AccessType;
import memmap.api.Errno;
import memmap.api.FileRange;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.checkpoint.Progress;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/**
 * Writes an image: header, metadata, page records, end. A page record holds up to
 * {@link ImageFormat#RUN_PAGES} pages of one frame space: its head, then {@code space u64,
 * offset u64, pages u32, memCgId i32}, a bitmap (bit set: the page's bytes follow; clear: the
 * page is all zeroes), then the bytes of the pages whose bit is set, in order. Page bytes go
 * from the memory file's own mapping to the channel (no copy in between).
 */
final class ImageWriter {
    private static final MemorySegment ZERO = MemorySegment.ofArray(new byte[(int) Pages.PAGE_SIZE]);

    private final WritableByteChannel out;
    private final Progress progress;
    private final long started = System.nanoTime();
    private long lastProgress;
    long bytes;
    long pages;
    long zeroPages;
    private long records;
    private long pageBytesDone;
    private long pageBytesTotal;

    /** Non-null when pages may change while written (a pre-copy round): each record's bytes are copied here first. */
    private final ByteBuffer staging;

    ImageWriter(WritableByteChannel out, Progress progress) {
        this(out, progress, false);
    }

    /**
     * @param live whether writers may change the pages while they are written: then a record's bytes are
     *     copied once, and checksummed and sent from the copy (else the checksum and the bytes sent could differ)
     */
    ImageWriter(WritableByteChannel out, Progress progress, boolean live) {
        this.out = out;
        this.progress = progress;
        this.staging = live ? ByteBuffer.allocateDirect(ImageFormat.RUN_PAGES * (int) Pages.PAGE_SIZE) : null;
    }

    void header(ImageFormat.Header h) throws MemmapException {
        put(ImageFormat.header(h));
    }

    void meta(ImageMeta meta) throws MemmapException {
        pageBytesTotal = meta.pageBytes();
        byte[] m = meta.encode();
        CRC32C c = new CRC32C();
        c.update(m);
        put(ImageFormat.recordHead(ImageFormat.META, m.length, (int) c.getValue()), ByteBuffer.wrap(m));
        records++;
    }

    /** The pages of {@code runs}, each read from its file. */
    void pages(List<Capture.PageRun> runs) throws MemmapException {
        for (Capture.PageRun r : runs) {
            for (long s = r.start(); s != r.end(); ) {
                long n = Math.min((r.end() - s) >>> Pages.PAGE_SHIFT, ImageFormat.RUN_PAGES);
                long fileOff = r.fileOff() + (s - r.start());
                BlockSeq bs = r.file().mapInternal(new FileRange(fileOff, fileOff + (n << Pages.PAGE_SHIFT)), AccessType.READ);
                record(r.space(), s, (int) n, r.memCgId(), bs);
                s += n << Pages.PAGE_SHIFT;
            }
        }
    }

    private void record(long space, long off, int n, int memCgId, BlockSeq bs) throws MemmapException {
        int bitmapBytes = (n + 7) >>> 3;
        ByteBuffer prefix = ByteBuffer.allocate(24 + bitmapBytes).order(ByteOrder.LITTLE_ENDIAN);
        prefix.putLong(space).putLong(off).putInt(n).putInt(memCgId);
        List<ByteBuffer> data = new ArrayList<>();
        MemorySegment runStart = null;
        long runLen = 0;
        long payload = prefix.capacity();
        long pos = 0;
        for (int i = 0; i < n; i++, pos += Pages.PAGE_SIZE) {
            MemorySegment page = pageAt(bs, pos);
            boolean zero = page.mismatch(ZERO) == -1;
            if (zero) {
                zeroPages++;
            } else {
                pages++;
                prefix.put(24 + (i >>> 3), (byte) (prefix.get(24 + (i >>> 3)) | (1 << (i & 7))));
                payload += Pages.PAGE_SIZE;
                if (runStart != null && runStart.address() + runLen == page.address()) {
                    runLen += Pages.PAGE_SIZE;
                    continue;
                }
            }
            if (runStart != null) {
                data.add(runStart.reinterpret(runLen).asByteBuffer());
                runStart = null;
            }
            if (!zero) {
                runStart = page;
                runLen = Pages.PAGE_SIZE;
            }
        }
        if (runStart != null) {
            data.add(runStart.reinterpret(runLen).asByteBuffer());
        }
        prefix.position(prefix.capacity()).flip();
        if (staging != null) {
            staging.clear();
            for (ByteBuffer d : data) {
                staging.put(d);
            }
            staging.flip();
            data = List.of(staging);
        }
        CRC32C c = new CRC32C();
        c.update(prefix.duplicate());
        for (ByteBuffer d : data) {
            c.update(d.duplicate());
        }
        ByteBuffer[] all = new ByteBuffer[data.size() + 2];
        all[0] = ImageFormat.recordHead(ImageFormat.PAGES, payload, (int) c.getValue());
        all[1] = prefix;
        for (int i = 0; i < data.size(); i++) {
            all[i + 2] = data.get(i);
        }
        put(all);
        records++;
        pageBytesDone += (long) n << Pages.PAGE_SHIFT;
        if (pageBytesDone - lastProgress >= (64L << 20)) {
            lastProgress = pageBytesDone;
            progress.update(pageBytesDone, pageBytesTotal, System.nanoTime() - started);
        }
    }

    /** The page {@code pos} bytes into {@code bs} (a page never straddles two Blocks: they are page-aligned). */
    static MemorySegment pageAt(BlockSeq bs, long pos) {
        long start = bs.blockStartOf(pos);
        BlockSeq from = bs.dropFirst(start);
        Block b = from.head();
        return b.segment().asSlice(pos - start, Pages.PAGE_SIZE);
    }

    void end() throws MemmapException {
        ByteBuffer p = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(records).putLong(pageBytesDone).flip();
        CRC32C c = new CRC32C();
        c.update(p.duplicate());
        put(ImageFormat.recordHead(ImageFormat.END, 16, (int) c.getValue()), p);
        progress.update(pageBytesDone, pageBytesTotal, System.nanoTime() - started);
    }

    private void put(ByteBuffer... bs) throws MemmapException {
        for (ByteBuffer b : bs) {
            bytes += b.remaining();
        }
        try {
            ImageFormat.writeFully(out, bs);
        } catch (IOException e) {
            throw new MemmapException(Errno.EIO.withDetail("writing the image failed after " + bytes + " bytes: " + e), e);
        }
    }
}
