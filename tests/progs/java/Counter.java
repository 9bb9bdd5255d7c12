// Counter: a JVM with worker threads, for checkpoint/restart tests.
// Four daemon threads count in their own slots (sleeping 20 ms); the main
// thread grows a HashMap and every 200 ms prints
//   "tick N min=M map=S"
// checking that every worker advanced since the previous tick and that the
// map holds exactly N entries; otherwise "CORRUPT ..." and exit 3.
public class Counter {
    static final long[] counts = new long[4];

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < counts.length; i++) {
            final int k = i;
            Thread t = new Thread(() -> {
                while (true) {
                    synchronized (counts) { counts[k]++; }
                    try { Thread.sleep(20); } catch (InterruptedException e) { return; }
                }
            });
            t.setDaemon(true);
            t.start();
        }
        java.util.HashMap<Integer, String> map = new java.util.HashMap<>();
        long[] last = new long[counts.length];
        for (int n = 1; ; n++) {
            Thread.sleep(200);
            map.put(n, "v" + n);
            long min = Long.MAX_VALUE;
            synchronized (counts) {
                for (int i = 0; i < counts.length; i++) {
                    if (n > 1 && counts[i] == last[i]) {
                        System.out.println("CORRUPT worker " + i + " stuck at " + counts[i]);
                        System.exit(3);
                    }
                    last[i] = counts[i];
                    min = Math.min(min, counts[i]);
                }
            }
            if (map.size() != n || !("v" + n).equals(map.get(n))) {
                System.out.println("CORRUPT map size " + map.size() + " at tick " + n);
                System.exit(3);
            }
            System.out.println("tick " + n + " min=" + min + " map=" + map.size());
        }
    }
}
