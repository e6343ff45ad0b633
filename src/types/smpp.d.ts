/** The parts of the `smpp` package (SMPP 3.4 client and server) Rasid uses; the package ships no types. */
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer, Socket } from 'node:net';

  /** A decoded PDU: the header fields plus the command's parameters and TLVs by name. */
  export interface PDU {
    command: string;
    command_id: number;
    command_status: number;
    sequence_number: number;
    // biome-ignore lint/suspicious/noExplicitAny: fields depend on the command (submit_sm, deliver_sm, …).
    [field: string]: any;
    isResponse(): boolean;
    // biome-ignore lint/suspicious/noExplicitAny: response parameters depend on the command.
    response(options?: Record<string, any>): PDU;
  }

  export class Session extends EventEmitter {
    socket: Socket;
    send(pdu: PDU, onResponse?: (pdu: PDU) => void): boolean;
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
    // biome-ignore lint/suspicious/noExplicitAny: one method per SMPP command, parameters by name.
    [command: string]: any;
  }

  export interface Server extends NetServer {
    sessions: Session[];
  }

  // biome-ignore lint/suspicious/noExplicitAny: connection options as the package reads them.
  export function connect(options: Record<string, any>, listener?: () => void): Session;
  export function createServer(listener: (session: Session) => void): Server;
  export const PDU: {
    // biome-ignore lint/suspicious/noExplicitAny: parameters depend on the command.
    new (command: string, options?: Record<string, any>): PDU;
  };
  export const encodings: {
    ASCII: { match(text: string): boolean; encode(text: string): Buffer };
  };
  export const ESME_ROK: number;
  export const ESME_RTHROTTLED: number;
  export const ESME_RMSGQFUL: number;
  export const ESME_RINVDSTADR: number;
  export const ESME_RINVPASWD: number;
  export const ESME_RBINDFAIL: number;
  export const ESME_RSYSERR: number;
}
