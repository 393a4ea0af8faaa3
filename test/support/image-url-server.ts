// A real HTTP server on 127.0.0.1 with one path per image_url case: a good image, redirects (to it, to
// private addresses, in a chain), a body that never ends, an oversized one, a page that is not an image.
// Services reach it only with their test-only loopback switch on.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ImageUrlServer {
  /** http://127.0.0.1:PORT */
  origin: string;
  url(path: string): string;
  /** Paths requested so far, in order. */
  requests: string[];
  /** Endless and flooding responses still being written (the client has not hung up). */
  openStreams(): number;
  close(): Promise<void>;
}

/** Chunks of `size` bytes, one every `everyMs`, until the client goes away. */
const ENDLESS_CHUNK = 1024;

export async function startImageUrlServer(image: Uint8Array): Promise<ImageUrlServer> {
  const requests: string[] = [];
  let streaming = 0;
  const countWhileOpen = (res: ServerResponse) => {
    streaming++;
    res.on('close', () => streaming--);
  };
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    const redirect = (location: string, status = 302) => {
      res.writeHead(status, { location });
      res.end();
    };
    const chain = /^\/chain\/(\d+)$/.exec(path);
    if (chain) {
      const left = Number(chain[1]);
      return redirect(left === 0 ? '/image.jpg' : `/chain/${left - 1}`, 301);
    }
    switch (path) {
      case '/image.jpg':
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': image.byteLength });
        return res.end(image);
      case '/image-as-text':
        // The Content-Type is not trusted either way: a JPEG labelled text/plain is still a JPEG.
        res.writeHead(200, { 'content-type': 'text/plain' });
        return res.end(image);
      case '/page.html':
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        return res.end(`<!doctype html><html><body>${'not an image '.repeat(100)}</body></html>`);
      case '/empty':
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 0 });
        return res.end();
      case '/missing':
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('no such image');
      case '/redirect-relative':
        return redirect('/image.jpg', 307);
      case '/redirect-metadata':
        return redirect('http://169.254.169.254/latest/meta-data/');
      case '/redirect-private':
        return redirect('https://10.0.0.1/image.jpg', 308);
      case '/redirect-http':
        return redirect('http://example.com/image.jpg');
      case '/redirect-nowhere':
        res.writeHead(302);
        return res.end();
      case '/declared-huge':
        res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': 1_000_000_000 });
        res.write(image.subarray(0, 16));
        return; // never finished: the declared length alone must refuse it
      case '/endless': {
        // A JPEG start (so sniffing passes), then bytes forever, slowly: only the deadline ends it.
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.write(image.subarray(0, 64));
        countWhileOpen(res);
        const timer = setInterval(() => res.write(new Uint8Array(ENDLESS_CHUNK)), 20);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/flood': {
        // As fast as the client reads, without a Content-Length: the byte cap ends it.
        res.writeHead(200, { 'content-type': 'image/jpeg' });
        res.write(image.subarray(0, 64));
        countWhileOpen(res);
        const chunk = new Uint8Array(64 * 1024);
        const pump = () => {
          while (res.write(chunk)) {
            if (res.destroyed) return;
          }
        };
        res.on('drain', pump);
        pump();
        return;
      }
      default:
        res.writeHead(404);
        return res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (path) => `${origin}${path}`,
    requests,
    openStreams: () => streaming,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
