// BrokerRequests samples a Kafka broker's own request counters over JMX and prints them as CSV.
//
//   java scripts/broker-requests/BrokerRequests.java -port 37990 [-host 127.0.0.1] [-interval-ms 500]
//        [-wait-s 600] [-out FILE]
//
// Contract:
//   - Connects to service:jmx:rmi:///jndi/rmi://<host>:<port>/jmxrmi (no authentication, no TLS: the
//     broker's JMX agent must be bound to loopback). Until the first connection succeeds it retries for
//     -wait-s seconds, so it can be started before the broker; after that, a lost connection is retried
//     for -wait-s seconds too, then the program exits 0 if it had sampled at least once (the broker was
//     stopped), 1 otherwise.
//   - Every -interval-ms it prints one line per metric, all with the same timestamp:
//         ts,metric,count
//         1764730000.123,Produce,41230
//     ts is unix seconds (millisecond precision) taken just before the sample; count is the cumulative
//     Count attribute of the broker's Yammer meter, so rates are differences between two samples.
//   - metric is an API key name (Produce, Fetch, OffsetCommit, ...), the `request` tag of
//     kafka.network:type=RequestMetrics,name=RequestsPerSec,request=<key>,version=<v>, summed over
//     versions. The broker also has the derived FetchConsumer and FetchFollower names; they are printed
//     as they come and are a subset of Fetch, not extra requests. BytesIn and BytesOut are the all-topics
//     kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec/BytesOutPerSec counters.
//   - A meter that does not exist yet (no request of that key so far) is simply absent; read it as 0.
//   - Never throws on odd MBeans: an attribute that cannot be read as a number is skipped.
//
// No dependencies beyond the JDK: run it with Java 17 source launch, no build step.

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public class BrokerRequests {
    static final String REQUESTS = "kafka.network:type=RequestMetrics,name=RequestsPerSec,*";
    static final String TOPIC_BYTES_OUT = "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec,topic=*";
    static final String LOCAL_TIME = "kafka.network:type=RequestMetrics,name=LocalTimeMs,*";
    static final String BYTES_IN = "kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec";
    static final String BYTES_OUT = "kafka.server:type=BrokerTopicMetrics,name=BytesOutPerSec";

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1", out = null;
        int port = 0;
        long intervalMs = 500, waitS = 600;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            try {
                switch (a) {
                    case "-host" -> host = v;
                    case "-port" -> port = Integer.parseInt(v);
                    case "-interval-ms" -> intervalMs = Long.parseLong(v);
                    case "-wait-s" -> waitS = Long.parseLong(v);
                    case "-out" -> out = v;
                    default -> usage("unknown flag " + a);
                }
            } catch (NumberFormatException e) {
                usage("not a number for " + a + ": " + v);
            }
        }
        if (port <= 0 || port > 65535) usage("-port is required (1-65535)");
        if (intervalMs < 50) usage("-interval-ms must be >= 50");

        PrintStream w = out == null ? System.out : new PrintStream(new FileOutputStream(out), true);
        JMXServiceURL url = new JMXServiceURL("service:jmx:rmi:///jndi/rmi://" + host + ":" + port + "/jmxrmi");
        w.println("ts,metric,count");
        boolean sampled = false;
        while (true) {
            JMXConnector c = connect(url, waitS * 1000);
            if (c == null) {
                System.err.println("broker-requests: no JMX at " + url + " for " + waitS + " s" + (sampled ? "; done" : ""));
                System.exit(sampled ? 0 : 1);
            }
            System.err.println("broker-requests: connected to " + url);
            try (c) {
                MBeanServerConnection mbs = c.getMBeanServerConnection();
                long next = System.currentTimeMillis();
                while (true) {
                    long now = System.currentTimeMillis();
                    Map<String, Long> m = sample(mbs);
                    String ts = String.format("%d.%03d", now / 1000, now % 1000);
                    StringBuilder b = new StringBuilder();
                    for (Map.Entry<String, Long> e : m.entrySet()) {
                        b.append(ts).append(',').append(e.getKey()).append(',').append(e.getValue()).append('\n');
                    }
                    w.print(b);
                    w.flush();
                    sampled = true;
                    next += intervalMs;
                    long sleep = next - System.currentTimeMillis();
                    if (sleep > 0) Thread.sleep(sleep);
                    else next = System.currentTimeMillis(); // fell behind: do not burst to catch up
                }
            } catch (IOException e) {
                System.err.println("broker-requests: connection lost: " + e);
            }
        }
    }

    // connect retries every 500 ms until deadlineMs has passed; null when it never succeeded.
    static JMXConnector connect(JMXServiceURL url, long deadlineMs) throws InterruptedException {
        long until = System.currentTimeMillis() + deadlineMs;
        while (System.currentTimeMillis() < until) {
            try {
                return JMXConnectorFactory.connect(url, null);
            } catch (IOException | SecurityException e) {
                Thread.sleep(500);
            }
        }
        return null;
    }

    // sample reads every request meter (summed over its version tags) and the byte counters.
    static Map<String, Long> sample(MBeanServerConnection mbs) throws IOException {
        Map<String, Long> m = new TreeMap<>();
        Set<ObjectName> names;
        try {
            names = mbs.queryNames(new ObjectName(REQUESTS), null);
        } catch (javax.management.MalformedObjectNameException e) {
            throw new IllegalStateException(e); // a constant: cannot happen
        }
        for (ObjectName n : names) {
            String key = n.getKeyProperty("request");
            if (key == null) continue;
            Long v = count(mbs, n);
            if (v != null) m.merge(key, v, Long::sum);
        }
        // Time in the request handler threads per API key (LocalTimeMs: Count x Mean, in
        // microseconds), written as LocalUs:<key>: where the broker's CPU goes by request type.
        try {
            for (ObjectName n : mbs.queryNames(new ObjectName(LOCAL_TIME), null)) {
                String key = n.getKeyProperty("request");
                if (key == null) continue;
                try {
                    Object c = mbs.getAttribute(n, "Count"), mean = mbs.getAttribute(n, "Mean");
                    if (c instanceof Number cn && mean instanceof Number mn) {
                        m.merge("LocalUs:" + key, Math.round(cn.doubleValue() * mn.doubleValue() * 1000), Long::sum);
                    }
                } catch (javax.management.JMException e) {
                    // unregistered between query and read
                }
            }
        } catch (javax.management.MalformedObjectNameException e) {
            throw new IllegalStateException(e);
        }
        // Bytes out per topic (BytesOut:<topic>): which reader's fetches the bytes go to.
        try {
            for (ObjectName n : mbs.queryNames(new ObjectName(TOPIC_BYTES_OUT), null)) {
                String topic = n.getKeyProperty("topic");
                if (topic == null) continue;
                Long v = count(mbs, n);
                if (v != null) m.put("BytesOut:" + topic, v);
            }
        } catch (javax.management.MalformedObjectNameException e) {
            throw new IllegalStateException(e);
        }
        for (String[] b : new String[][] {{"BytesIn", BYTES_IN}, {"BytesOut", BYTES_OUT}}) {
            try {
                Long v = count(mbs, new ObjectName(b[1]));
                if (v != null) m.put(b[0], v);
            } catch (javax.management.MalformedObjectNameException e) {
                throw new IllegalStateException(e);
            }
        }
        return m;
    }

    // count is the meter's cumulative Count, or null when the MBean is gone or has no numeric Count.
    static Long count(MBeanServerConnection mbs, ObjectName n) throws IOException {
        try {
            Object v = mbs.getAttribute(n, "Count");
            return v instanceof Number num ? num.longValue() : null;
        } catch (javax.management.JMException e) {
            return null; // unregistered between query and read, or no Count attribute
        }
    }

    static void usage(String why) {
        System.err.println("broker-requests: " + why);
        System.err.println("usage: java BrokerRequests.java -port N [-host 127.0.0.1] [-interval-ms 500] [-wait-s 600] [-out FILE]");
        System.exit(2);
    }
}
