package memmap.mm.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.util.List;
import java.util.zip.CRC32C;

import memmap.api.AccessType;
import memmap.api.FileRange;
import memmap.api.MemmapException;
import memmap.api.Pages;
import memmap.api.checkpoint.ImageException;
import memmap.api.checkpoint.Progress;
import memmap.api.safemem.BlockSeq;

/**
 * Reads one image from a stream, front to back, into a {@link FrameStore}: page bytes go from
 * the channel straight into the memory file's pages; each record's checksum is checked on what
 * landed there.
 */
final class ImageReader {
    private final String image;
    private final ReadableByteChannel in;
    private final FrameStore store;
    private final Progress progress;
    private final long started = System.nanoTime();
    private long at;
    private long lastProgress;
    long pageBytesDone;
    ImageFormat.Header header;
    ImageMeta meta;

    ImageReader(String image, ReadableByteChannel in, FrameStore store, Progress progress) {
        this.image = image;
        this.in = in;
        this.store = store;
        this.progress = progress;
    }

    /** Reads the header and the metadata record. */
    ImageFormat.Header begin() throws ImageException {
        header = ImageFormat.readHeader(image, in);
        at = ImageFormat.HEADER_BYTES;
        ImageFormat.RecordHead h = ImageFormat.readRecordHead(image, in, at);
        if (h == null) {
            throw new ImageException(image + " is truncated: it ends after the header, before its metadata record");
        }
        if (h.type() != ImageFormat.META) {
            throw new ImageException(image + ": the first record is " + ImageFormat.typeName(h.type()) + ", not metadata (the image is corrupt)");
        }
        at += ImageFormat.RECORD_HEAD;
        ByteBuffer b = ByteBuffer.allocate(h.length());
        ImageFormat.readExactly(image, in, b, "the metadata record", at);
        at += h.length();
        CRC32C c = new CRC32C();
        c.update(b.array());
        if ((int) c.getValue() != h.crc()) {
            throw new ImageException(image + ": the metadata record at byte " + h.at() + " fails its checksum (the image is corrupt)");
        }
        meta = ImageMeta.decode(image, b.array());
        return header;
    }

    /** Reads the page records up to the end record (inclusive). */
    void pages() throws MemmapException {
        long records = 1;
        while (true) {
            ImageFormat.RecordHead h = ImageFormat.readRecordHead(image, in, at);
            if (h == null) {
                throw new ImageException(image + " is truncated: it ends at byte " + at + " without its end record");
            }
            at += ImageFormat.RECORD_HEAD;
            if (h.type() == ImageFormat.END) {
                ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
                if (h.length() != 16) {
                    throw new ImageException(image + ": the end record at byte " + h.at() + " has " + h.length() + " bytes, not 16 (corrupt)");
                }
                ImageFormat.readExactly(image, in, b, "the end record", at);
                at += 16;
                CRC32C c = new CRC32C();
                c.update(b.array());
                if ((int) c.getValue() != h.crc() || b.getLong(0) != records || b.getLong(8) != pageBytesDone) {
                    throw new ImageException(image + ": the end record at byte " + h.at() + " does not match the records read ("
                            + records + " records, " + pageBytesDone + " page bytes; it says " + b.getLong(0) + " and " + b.getLong(8)
                            + "): the image is corrupt");
                }
                progress.update(pageBytesDone, meta.pageBytes(), System.nanoTime() - started);
                return;
            }
            if (h.type() != ImageFormat.PAGES) {
                throw new ImageException(image + ": a second " + ImageFormat.typeName(h.type()) + " record at byte " + h.at() + " (corrupt)");
            }
            pageRecord(h);
            records++;
        }
    }

    private void pageRecord(ImageFormat.RecordHead h) throws MemmapException {
        String where = "the pages record at byte " + h.at();
        if (h.length() < 24) {
            throw new ImageException(image + ": " + where + " is " + h.length() + " bytes, shorter than its own fields (corrupt)");
        }
        ByteBuffer fixed = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        ImageFormat.readExactly(image, in, fixed, where, at);
        long space = fixed.getLong(0);
        long off = fixed.getLong(8);
        int n = fixed.getInt(16);
        int cg = fixed.getInt(20);
        if (n <= 0 || n > ImageFormat.RUN_PAGES || !Pages.isPageAligned(off) || off < 0 || off + ((long) n << Pages.PAGE_SHIFT) < 0) {
            throw new ImageException(image + ": " + where + " names " + n + " pages at offset 0x" + Long.toHexString(off) + " (corrupt)");
        }
        int bitmapBytes = (n + 7) >>> 3;
        ByteBuffer bitmap = ByteBuffer.allocate(bitmapBytes);
        ImageFormat.readExactly(image, in, bitmap, where, at + 24);
        int withBytes = 0;
        for (int i = 0; i < n; i++) {
            withBytes += (bitmap.get(i >>> 3) >>> (i & 7)) & 1;
        }
        long want = 24L + bitmapBytes + ((long) withBytes << Pages.PAGE_SHIFT);
        if (want != h.length()) {
            throw new ImageException(image + ": " + where + " is " + h.length() + " bytes but its bitmap says " + want + " (corrupt)");
        }
        long dataAt = at + 24 + bitmapBytes;
        CRC32C c = new CRC32C();
        c.update(fixed.array());
        c.update(bitmap.array());
        long end = off + ((long) n << Pages.PAGE_SHIFT);
        List<FrameStore.Piece> slots = store.slots(space, off, end, cg);
        for (FrameStore.Piece p : slots) {
            BlockSeq bs = store.memoryFile().mapInternal(new FileRange(p.target(), p.target() + p.length()), AccessType.WRITE);
            for (long q = 0; q < p.length(); ) {
                int i = (int) ((p.src() + q - off) >>> Pages.PAGE_SHIFT);
                boolean has = ((bitmap.get(i >>> 3) >>> (i & 7)) & 1) != 0;
                // A run of pages alike (bytes follow / zero), within one Block of the store's mapping.
                long blockStart = bs.blockStartOf(q);
                MemorySegment block = bs.dropFirst(blockStart).head().segment();
                long blockEnd = blockStart + block.byteSize();
                long len = Pages.PAGE_SIZE;
                while (q + len < p.length() && q + len < blockEnd) {
                    int j = i + (int) (len >>> Pages.PAGE_SHIFT);
                    if ((((bitmap.get(j >>> 3) >>> (j & 7)) & 1) != 0) != has) {
                        break;
                    }
                    len += Pages.PAGE_SIZE;
                }
                MemorySegment run = block.asSlice(q - blockStart, len);
                if (has) {
                    ImageFormat.readExactly(image, in, run.asByteBuffer(), where, dataAt);
                    dataAt += len;
                    c.update(run.asByteBuffer());
                } else if (!p.fresh()) {
                    run.fill((byte) 0); // a later image's zero pages over an earlier one's
                }
                q += len;
            }
        }
        if ((int) c.getValue() != h.crc()) {
            throw new ImageException(image + ": " + where + " (frame space " + space + ", offset 0x" + Long.toHexString(off) + ", " + n
                    + " pages) fails its checksum (the image is corrupt)");
        }
        at += h.length();
        pageBytesDone += (long) n << Pages.PAGE_SHIFT;
        if (pageBytesDone - lastProgress >= (64L << 20)) {
            lastProgress = pageBytesDone;
            progress.update(pageBytesDone, meta.pageBytes(), System.nanoTime() - started);
        }
    }
}
