package memmap.mm.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.UUID;
import java.util.zip.CRC32C;

import memmap.api.checkpoint.ImageException;

/**
 * The image format, version 1 (described in ARCHITECTURE.md, "Checkpoint images"): a 64-byte
 * header, then records, each a 12-byte head (type, payload length, CRC-32C of the payload) and
 * its payload; the metadata record first, page records after it, an end record last. All
 * numbers little-endian.
 */
final class ImageFormat {
    private ImageFormat() {}

    static final long MAGIC = 0x4d49_5041_4d4d_454dL; // "MEMMAPIM" read little-endian
    static final int VERSION = 1;
    static final int HEADER_BYTES = 64;
    static final int RECORD_HEAD = 12;
    /** Pages per page record at most (1 MiB). */
    static final int RUN_PAGES = 256;

    static final int FLAG_INCREMENTAL = 1;
    static final int FLAG_ROUND = 2;

    static final byte META = 1;
    static final byte PAGES = 2;
    static final byte END = 3;

    /** Payload cap: nothing in a valid image is larger (metadata of 1M vmas is ~70 MiB). */
    static final int MAX_PAYLOAD = 1 << 30;

    static String typeName(int t) {
        return switch (t) {
            case META -> "metadata";
            case PAGES -> "pages";
            case END -> "end";
            default -> "type " + t;
        };
    }

    record Header(int version, int flags, UUID id, UUID parent, int depth) {
        boolean incremental() {
            return (flags & FLAG_INCREMENTAL) != 0;
        }
    }

    static ByteBuffer header(Header h) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(MAGIC).putShort((short) h.version()).putShort((short) h.flags()).putInt(HEADER_BYTES);
        putUuid(b, h.id());
        putUuid(b, h.parent());
        b.putInt(h.depth());
        b.position(60);
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 60);
        b.putInt((int) c.getValue());
        return b.flip();
    }

    static Header readHeader(String image, ReadableByteChannel in) throws ImageException {
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long got = readFully(in, b);
        if (got < 8) {
            throw new ImageException(image + " is not a memmap image: " + got + " bytes, shorter than the header (" + HEADER_BYTES + ")");
        }
        b.flip();
        if (b.getLong(0) != MAGIC) {
            throw new ImageException(image + " is not a memmap image: its first 8 bytes are not \"MEMMAPIM\"");
        }
        if (got < HEADER_BYTES) {
            throw new ImageException(image + " is truncated: " + got + " bytes, inside the " + HEADER_BYTES + "-byte header");
        }
        CRC32C c = new CRC32C();
        c.update(b.array(), 0, 60);
        if ((int) c.getValue() != b.getInt(60)) {
            throw new ImageException(image + ": the header's checksum does not match (the header is corrupt)");
        }
        int version = b.getShort(8) & 0xffff;
        if (version != VERSION) {
            throw new ImageException(image + " has format version " + version + "; this memmap reads version " + VERSION);
        }
        b.position(16);
        UUID id = getUuid(b);
        UUID parent = getUuid(b);
        return new Header(version, b.getShort(10) & 0xffff, id, parent, b.getInt());
    }

    static final UUID NONE = new UUID(0, 0);

    private static void putUuid(ByteBuffer b, UUID u) {
        b.putLong(u.getMostSignificantBits()).putLong(u.getLeastSignificantBits());
    }

    private static UUID getUuid(ByteBuffer b) {
        return new UUID(b.getLong(), b.getLong());
    }

    /** A record's head for {@code payload} bytes whose CRC-32C is {@code crc}. */
    static ByteBuffer recordHead(byte type, long payload, int crc) {
        return ByteBuffer.allocate(RECORD_HEAD).order(ByteOrder.LITTLE_ENDIAN).put(type).put((byte) 0).putShort((short) 0)
                .putInt((int) payload).putInt(crc).flip();
    }

    record RecordHead(int type, int length, int crc, long at) {}

    /** The next record's head, {@code at} bytes into the image; null at a clean end of the stream. */
    static RecordHead readRecordHead(String image, ReadableByteChannel in, long at) throws ImageException {
        ByteBuffer b = ByteBuffer.allocate(RECORD_HEAD).order(ByteOrder.LITTLE_ENDIAN);
        long got = readFully(in, b);
        if (got == 0) {
            return null;
        }
        if (got < RECORD_HEAD) {
            throw new ImageException(image + " is truncated: it ends at byte " + (at + got) + ", inside a record's head");
        }
        int type = b.get(0);
        int len = b.getInt(4);
        if (type < META || type > END) {
            throw new ImageException(image + ": the record at byte " + at + " has unknown type " + type + " (the image is corrupt)");
        }
        if (len < 0 || len > MAX_PAYLOAD) {
            throw new ImageException(image + ": the " + typeName(type) + " record at byte " + at + " claims " + Integer.toUnsignedString(len)
                    + " bytes (the image is corrupt)");
        }
        return new RecordHead(type, len, b.getInt(8), at);
    }

    /** Reads until {@code b} is full or the stream ends; the bytes read. */
    static long readFully(ReadableByteChannel in, ByteBuffer b) throws ImageException {
        long n = 0;
        try {
            while (b.hasRemaining()) {
                int r = in.read(b);
                if (r < 0) {
                    break;
                }
                n += r;
            }
        } catch (IOException e) {
            throw new ImageException("reading the image failed: " + e, e);
        }
        return n;
    }

    /** Reads exactly {@code b.remaining()} bytes of {@code what}, or says where the image ends. */
    static void readExactly(String image, ReadableByteChannel in, ByteBuffer b, String what, long at) throws ImageException {
        int want = b.remaining();
        long got = readFully(in, b);
        if (got < want) {
            throw new ImageException(image + " is truncated: it ends at byte " + (at + got) + ", " + (want - got) + " bytes short of the end of "
                    + what);
        }
    }

    /**
     * The fixed fields and bitmap of a page record whose head is {@code h} (its payload starts at
     * {@code at}), checked against the record's length.
     *
     * @param withBytes how many of the {@code n} pages have their bytes in the record
     */
    record PageHead(long space, long off, int n, int memCgId, byte[] bitmap, int withBytes, ByteBuffer fixed) {
        int prefixBytes() {
            return 24 + bitmap.length;
        }

        boolean hasBytes(int i) {
            return ((bitmap[i >>> 3] >>> (i & 7)) & 1) != 0;
        }

        long end() {
            return off + ((long) n << memmap.api.Pages.PAGE_SHIFT);
        }

        String where(RecordHead h) {
            return "the pages record at byte " + h.at() + " (frame space " + space + ", offset 0x" + Long.toHexString(off) + ", " + n
                    + " pages)";
        }
    }

    static PageHead readPageHead(String image, ReadableByteChannel in, RecordHead h, long at) throws ImageException {
        String where = "the pages record at byte " + h.at();
        if (h.length() < 24) {
            throw new ImageException(image + ": " + where + " is " + h.length() + " bytes, shorter than its own fields (corrupt)");
        }
        ByteBuffer fixed = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
        readExactly(image, in, fixed, where, at);
        long space = fixed.getLong(0);
        long off = fixed.getLong(8);
        int n = fixed.getInt(16);
        int cg = fixed.getInt(20);
        if (n <= 0 || n > RUN_PAGES || !memmap.api.Pages.isPageAligned(off) || off < 0
                || off + ((long) n << memmap.api.Pages.PAGE_SHIFT) < 0) {
            throw new ImageException(image + ": " + where + " names " + n + " pages at offset 0x" + Long.toHexString(off) + " (corrupt)");
        }
        ByteBuffer bitmap = ByteBuffer.allocate((n + 7) >>> 3);
        readExactly(image, in, bitmap, where, at + 24);
        PageHead ph = new PageHead(space, off, n, cg, bitmap.array(), 0, fixed);
        int withBytes = 0;
        for (int i = 0; i < n; i++) {
            withBytes += ph.hasBytes(i) ? 1 : 0;
        }
        long want = 24L + bitmap.capacity() + ((long) withBytes << memmap.api.Pages.PAGE_SHIFT);
        if (want != h.length()) {
            throw new ImageException(image + ": " + where + " is " + h.length() + " bytes but its bitmap says " + want + " (corrupt)");
        }
        return new PageHead(space, off, n, cg, bitmap.array(), withBytes, fixed);
    }

    /** Reads and checks the end record (head {@code h}, payload at {@code at}) against what was read before it. */
    static void readEnd(String image, ReadableByteChannel in, RecordHead h, long at, long records, long pageBytes) throws ImageException {
        if (h.length() != 16) {
            throw new ImageException(image + ": the end record at byte " + h.at() + " has " + h.length() + " bytes, not 16 (corrupt)");
        }
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        readExactly(image, in, b, "the end record", at);
        CRC32C c = new CRC32C();
        c.update(b.array());
        if ((int) c.getValue() != h.crc() || b.getLong(0) != records || b.getLong(8) != pageBytes) {
            throw new ImageException(image + ": the end record at byte " + h.at() + " does not match the records read (" + records
                    + " records, " + pageBytes + " page bytes; it says " + b.getLong(0) + " and " + b.getLong(8) + "): the image is corrupt");
        }
    }

    static void writeFully(WritableByteChannel out, ByteBuffer... bs) throws IOException {
        if (out instanceof java.nio.channels.GatheringByteChannel g) {
            long left = 0;
            for (ByteBuffer b : bs) {
                left += b.remaining();
            }
            while (left > 0) {
                long w = g.write(bs);
                left -= w;
            }
            return;
        }
        for (ByteBuffer b : bs) {
            while (b.hasRemaining()) {
                out.write(b);
            }
        }
    }
}
