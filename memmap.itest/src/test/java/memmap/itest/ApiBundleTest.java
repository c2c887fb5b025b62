package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;

class ApiBundleTest {
    @Test
    void apiBundleIsActive() {
        BundleContext ctx = FrameworkUtil.getBundle(ApiBundleTest.class).getBundleContext();
        Bundle api = null;
        for (Bundle b : ctx.getBundles()) if (b.getSymbolicName().equals("memmap.api")) api = b;
        assertNotNull(api);
        assertEquals(Bundle.ACTIVE, api.getState());
        assertEquals(4096, memmap.api.Pages.PAGE_SIZE);
    }
}
