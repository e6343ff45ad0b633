/**
 * An SMS centre for tests, on the `smpp` package's server side: it accepts one system id and password,
 * answers enquire_link, reassembles concatenated parts by their UDH, answers each submit_sm with a message
 * id and then sends a delivery receipt (deliver_sm, esm_class 0x04) for it. Faults on demand: refuse the
 * next submits with ESME_RTHROTTLED, or drop the link when a given submit arrives (that submit is neither
 * answered nor kept, as an SMSC that never accepted it).
 */
import type { AddressInfo } from 'node:net';
import smpp, { type PDU, type Session } from 'smpp';

export interface SmscMessage {
  readonly to: string;
  readonly from: string;
  readonly dataCoding: number;
  readonly parts: number;
  readonly text: string;
  /** The message id of each part, in order. */
  readonly ids: string[];
}

export interface Smsc {
  readonly url: string;
  /** Whole messages, once every part has arrived. */
  readonly messages: SmscMessage[];
  /** Every submit_sm accepted (a part each). */
  readonly submits: { id: string; to: string; sequence: number }[];
  readonly binds: string[];
  enquireLinks: number;
  /** Answer the next n submits with ESME_RTHROTTLED. */
  throttleNext: number;
  /** Drop the link when the n-th submit (counting every submit received, 1-based) arrives. */
  dropAtSubmit: number | null;
  /** Keep the n-th submit without answering it (a client killed while it waits); kept in `held`. */
  holdAtSubmit: number | null;
  readonly held: { to: string }[];
  /** The receipt's stat for a destination (default DELIVRD). */
  statFor: (to: string) => 'DELIVRD' | 'UNDELIV';
  /** Send receipts (default true). */
  receipts: boolean;
  close(): Promise<void>;
}

export async function startSmsc(systemId = 'rasid', password = 'secret1'): Promise<Smsc> {
  let nextId = 1000;
  let received = 0;
  const partial = new Map<
    string,
    { parts: Map<number, string>; ids: string[]; total: number; dataCoding: number }
  >();
  const sessions = new Set<Session>();
  const smsc: Smsc = {
    url: '',
    messages: [],
    submits: [],
    binds: [],
    enquireLinks: 0,
    throttleNext: 0,
    dropAtSubmit: null,
    holdAtSubmit: null,
    held: [],
    statFor: () => 'DELIVRD',
    receipts: true,
    close: async () => {
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const server = smpp.createServer((session: Session) => {
    sessions.add(session);
    session.socket.on('close', () => sessions.delete(session));
    session.on('error', () => {});
    session.on('bind_transceiver', (pdu: PDU) => {
      if (pdu.system_id !== systemId || pdu.password !== password) {
        session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
        return;
      }
      smsc.binds.push(pdu.system_id);
      session.send(pdu.response({ system_id: 'test-smsc' }));
    });
    session.on('enquire_link', (pdu: PDU) => {
      smsc.enquireLinks++;
      session.send(pdu.response());
    });
    session.on('unbind', (pdu: PDU) => session.send(pdu.response(), () => session.close()));
    session.on('deliver_sm_resp', () => {});
    session.on('submit_sm', (pdu: PDU) => {
      received++;
      if (smsc.dropAtSubmit !== null && received === smsc.dropAtSubmit) {
        session.destroy();
        return;
      }
      if (smsc.holdAtSubmit !== null && received === smsc.holdAtSubmit) {
        smsc.held.push({ to: String(pdu.destination_addr) });
        return;
      }
      if (smsc.throttleNext > 0) {
        smsc.throttleNext--;
        session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
        return;
      }
      const id = String(nextId++);
      const to = String(pdu.destination_addr);
      smsc.submits.push({ id, to, sequence: pdu.sequence_number });
      session.send(pdu.response({ message_id: id }));
      const sm = pdu.short_message as { udh?: Buffer[]; message: string };
      const concat = sm.udh?.find((u) => u[0] === 0x00);
      if (concat === undefined) {
        smsc.messages.push({
          to,
          from: String(pdu.source_addr),
          dataCoding: pdu.data_coding,
          parts: 1,
          text: sm.message,
          ids: [id],
        });
      } else {
        const key = `${to}:${concat[2]}`;
        const entry = partial.get(key) ?? {
          parts: new Map(),
          ids: [],
          total: concat[3]!,
          dataCoding: pdu.data_coding,
        };
        partial.set(key, entry);
        entry.parts.set(concat[4]!, sm.message);
        entry.ids[concat[4]! - 1] = id;
        if (entry.parts.size === entry.total) {
          partial.delete(key);
          const text = [...entry.parts.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, t]) => t)
            .join('');
          smsc.messages.push({
            to,
            from: String(pdu.source_addr),
            dataCoding: entry.dataCoding,
            parts: entry.total,
            text,
            ids: entry.ids,
          });
        }
      }
      if (smsc.receipts && pdu.registered_delivery & 0x01) {
        const stat = smsc.statFor(to);
        session.deliver_sm({
          source_addr: to,
          destination_addr: String(pdu.source_addr),
          esm_class: 0x04,
          short_message: `id:${id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:2612070000 done date:2612070000 stat:${stat} err:000 text:`,
          receipted_message_id: id,
          message_state: stat === 'DELIVRD' ? 2 : 5,
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (smsc as { url: string }).url = `smpp://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return smsc;
}
