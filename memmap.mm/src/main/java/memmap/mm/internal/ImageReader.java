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
    /** Bytes of the image read so far. */
    long position() {
        return at;
    }

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
                ImageFormat.readEnd(image, in, h, at, records, pageBytesDone);
                at += 16;
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
        ImageFormat.PageHead ph = ImageFormat.readPageHead(image, in, h, at);
        String where = "the pages record at byte " + h.at();
        long space = ph.space();
        long off = ph.off();
        int n = ph.n();
        int cg = ph.memCgId();
        int bitmapBytes = ph.bitmap().length;
        ByteBuffer bitmap = ByteBuffer.wrap(ph.bitmap());
        ByteBuffer fixed = ph.fixed();
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
            throw new ImageException(image + ": " + ph.where(h) + " fails its checksum (the image is corrupt)");
        }
        at += h.length();
        pageBytesDone += (long) n << Pages.PAGE_SHIFT;
        if (pageBytesDone - lastProgress >= (64L << 20)) {
            lastProgress = pageBytesDone;
            progress.update(pageBytesDone, meta.pageBytes(), System.nanoTime() - started);
        }
    }
}
