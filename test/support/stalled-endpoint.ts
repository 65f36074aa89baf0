import { createServer, type Socket } from 'node:net';

/** An endpoint that accepts every connection, reads the request, and never answers. */
export async function stalledEndpoint(): Promise<{
  url: string;
  close: () => Promise<void>;
  /** Connections accepted so far (each SDK attempt opens one: the endpoint never answers to reuse it). */
  connections: () => number;
}> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
