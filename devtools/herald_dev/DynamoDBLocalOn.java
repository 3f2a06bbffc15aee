// DynamoDB Local on chosen addresses only. The jar's own main listens on every interface
// (Jetty's Server(port)) and has no option for an address, so this starts the same server
// the jar's main builds from the same options, and gives its connector the first address
// (and one connector more per further address, on the same port) before it starts.
//
//   java -cp <this class's folder>:DynamoDBLocal.jar DynamoDBLocalOn 127.0.0.1,172.17.0.1 \
//        -inMemory -sharedDb -disableTelemetry -port 8000
//
// Compiled once by herald_dev.dynamodb_local (javac, cached under node_modules/.cache).

import java.lang.reflect.Field;
import java.util.Arrays;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class DynamoDBLocalOn {
    private DynamoDBLocalOn() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: DynamoDBLocalOn ADDRESS[,ADDRESS...] [DynamoDB Local options]");
            System.exit(2);
        }
        String[] hosts = args[0].split(",");
        DynamoDBProxyServer proxy =
                ServerRunner.createServerFromCommandLineArgs(Arrays.copyOfRange(args, 1, args.length));
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        ServerConnector first = (ServerConnector) server.getConnectors()[0];
        first.setHost(hosts[0]);
        for (int i = 1; i < hosts.length; i++) {
            ServerConnector more = new ServerConnector(server);
            more.setHost(hosts[i]);
            more.setPort(first.getPort());
            server.addConnector(more);
        }
        proxy.start();
    }
}
