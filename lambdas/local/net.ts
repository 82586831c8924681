import type { Server } from 'node:net';

/** Listens on loopback only; rejects with the server's error (EADDRINUSE, ...). */
export function listen(server: Server, port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') {
      (server as unknown as { closeAllConnections(): void }).closeAllConnections();
    }
  });
}
