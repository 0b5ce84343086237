// hpack.js ships no types; these cover what the HTTP/2 sniffer and its tests use.
declare module "hpack.js" {
  import type { Duplex } from "node:stream";

  export interface HeaderField {
    name: string;
    value: string;
    neverIndex: boolean;
  }

  export interface Decompressor extends Duplex {
    /** Decodes everything written so far; failures are emitted as "error" events. */
    execute(): void;
    read(): HeaderField | null;
  }

  export interface Compressor extends Duplex {
    write(headers: { name: string; value: string }[]): boolean;
    /** The header block for everything written so far. */
    read(): Buffer;
  }

  const hpack: {
    decompressor: { create(options: { table: { size: number } }): Decompressor };
    compressor: { create(options: { table: { size: number } }): Compressor };
  };
  export default hpack;
}
