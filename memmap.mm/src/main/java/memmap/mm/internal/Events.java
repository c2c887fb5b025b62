package memmap.mm.internal;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Timespan;

/**
 * memmap's JFR events ({@code jdk.jfr}, no dependency): only slow paths emit them — a page
 * fault taken through the pma layer, a copy-on-write break, an invalidation, a hot swap, a
 * checkpoint, a restore, a migration — so the fast path (a TLB hit) costs nothing. Read them
 * with {@code jfr print --events 'memmap.*' FILE}; {@code ./memmap run --record FILE} records.
 * Each event's duration is the operation's.
 */
final class Events {
    private Events() {}

    @Name("memmap.PageFault")
    @Label("Page fault")
    @Category({"memmap", "Address space"})
    @Description("A fault handled by the pma layer (no translation cached): pages allocated, translated or copied")
    @jdk.jfr.Threshold("20 us") // the slow ones by default: a fresh gigabyte is 262,144 faults
    static final class PageFault extends Event {
        @Label("Address")
        long address;
        @Label("Access")
        String access;
        @Label("Backing")
        @Description("anonymous, or the Mappable's class")
        String backing;
    }

    @Name("memmap.CopyOnWrite")
    @Label("Copy-on-write break")
    @Category({"memmap", "Address space"})
    static final class CopyOnWrite extends Event {
        @Label("Start")
        long start;
        @Label("Bytes copied")
        @DataAmount
        long bytes;
    }

    @Name("memmap.Invalidate")
    @Label("Invalidation")
    @Category({"memmap", "Address space"})
    @Description("A Mappable dropped the translations of a range (MappingSpace.invalidate)")
    static final class Invalidate extends Event {
        @Label("Start")
        long start;
        @Label("Length")
        @DataAmount
        long length;
        @Label("Private pages too")
        boolean invalidatePrivate;
    }

    @Name("memmap.HotSwap")
    @Label("Hot swap")
    @Category({"memmap", "Providers"})
    static final class HotSwap extends Event {
        @Label("Kind")
        String kind;
        @Label("From")
        String from;
        @Label("To")
        String to;
        @Label("Backings moved")
        int backings;
        @Label("Mappings")
        int vmas;
        @Label("Bytes copied")
        @DataAmount
        long bytes;
        @Label("Longest pause")
        @Timespan
        long maxPauseNanos;
    }

    @Name("memmap.Checkpoint")
    @Label("Checkpoint")
    @Category({"memmap", "Checkpoint"})
    static final class Checkpoint extends Event {
        @Label("Address spaces")
        int spaces;
        @Label("Depth")
        @Description("1 for a full image, more for an incremental one")
        int depth;
        @Label("Pages saved")
        long pages;
        @Label("Zero pages")
        long zeroPages;
        @Label("Bytes written")
        @DataAmount
        long bytes;
        @Label("Stopped")
        @Timespan
        long stoppedNanos;
    }

    @Name("memmap.Restore")
    @Label("Restore")
    @Category({"memmap", "Checkpoint"})
    @Description("Address spaces made from images (for a lazy restore: until it returned)")
    static final class Restore extends Event {
        @Label("Images")
        int images;
        @Label("Lazy")
        boolean lazy;
        @Label("Address spaces")
        int spaces;
        @Label("Bytes still loading")
        @DataAmount
        long pendingBytes;
    }

    @Name("memmap.Migration")
    @Label("Migration")
    @Category({"memmap", "Checkpoint"})
    static final class Migration extends Event {
        @Label("Address spaces")
        int spaces;
        @Label("Pre-copy rounds")
        int rounds;
        @Label("Bytes sent")
        @DataAmount
        long bytes;
        @Label("Downtime")
        @Timespan
        long downtimeNanos;
    }
}
