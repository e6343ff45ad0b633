import { describe, expect } from 'vitest';
import { AppError } from '../../../src/api/errors.ts';
import { bodyFields, HostedPageProvider } from '../../../src/payments/hpp.ts';
import { LocalHpp } from '../../../src/payments/hpp-local.ts';
import { PaymentRegistry } from '../../../src/payments/registry.ts';
import { PaymentService } from '../../../src/payments/service.ts';
import { StripeProvider } from '../../../src/payments/stripe.ts';
import { LocalStripe } from '../../../src/payments/stripe-local.ts';
import { ThawaniProvider } from '../../../src/payments/thawani.ts';
import { LocalThawani } from '../../../src/payments/thawani-local.ts';
import type { Store } from '../../../src/store/db.ts';
import { accountBalance } from '../../../src/store/ledger.ts';
import type { UtilityId } from '../../../src/store/schema.ts';
import type { DbTest } from '../db.ts';
import { vendingWorld } from '../vending-fixture.ts';

const SECRET = 'whsec_rasid_scenarios';

/**
 * Online top-up scenarios (issue 3) on both databases: the real Stripe SDK against the local Stripe-compatible
 * server, events signed with the SDK's test-header helper and verified with constructEvent.
 */
/** A 4.000 JOD online top-up of the world's meter. */
function checkout(payments: PaymentService, w: { utilityId: UtilityId }) {
  return payments.startCheckout({
    utilityId: w.utilityId,
    meter: 'jo-M-0001',
    amountMinor: 4_000n,
    returnUrl: 'http://127.0.0.1/topup',
  });
}

export function paymentSuites(dbTest: DbTest): void {
  describe('online payments', () => {
    async function setup(store: Store) {
      const w = await vendingWorld(store);
      const stripe = new LocalStripe({ webhookSecret: SECRET });
      const apiBase = await stripe.start();
      const payments = new PaymentService({
        db: store.db,
        provider: new StripeProvider({ secretKey: 'sk_test_rasid', webhookSecret: SECRET, apiBase }),
        vending: w.service,
      });
      return { w, stripe, payments };
    }

    dbTest('a replayed webhook gives one token; the checkout result shows it', async ({ store }) => {
      const { w, stripe, payments } = await setup(store);
      try {
        const started = await checkout(payments, w);
        expect(await payments.checkoutResult(started.sessionId)).toMatchObject({
          status: 'pending',
          token: null,
        });
        const signed = stripe.completeSession(started.sessionId);
        const first = await payments.handleWebhook(signed.body, { 'stripe-signature': signed.signature });
        const again = await payments.handleWebhook(signed.body, { 'stripe-signature': signed.signature });
        expect(first.outcome).toBe('vended');
        expect(again.outcome).toBe('duplicate');
        // The same payment notified under a new event id (the provider's retry) still gives the same vend.
        const resent = stripe.signEvent('checkout.session.completed', {
          ...JSON.parse(signed.body).data.object,
        });
        const third = await payments.handleWebhook(resent.body, { 'stripe-signature': resent.signature });
        expect(third.outcome === 'vended' && third.vend.replayed).toBe(true);
        expect(await store.db.selectFrom('tokens').select('id').execute()).toHaveLength(1);
        expect(await store.db.selectFrom('vends').select('id').execute()).toHaveLength(1);
        const result = await payments.checkoutResult(started.sessionId);
        expect(result.status).toBe('succeeded');
        expect(result.token).toMatch(/^\d{20}$/);
      } finally {
        await stripe.stop();
      }
    });

    dbTest('a webhook with a bad signature is refused and nothing changes', async ({ store }) => {
      const { w, stripe, payments } = await setup(store);
      try {
        const started = await checkout(payments, w);
        const forged = new LocalStripe({ webhookSecret: 'whsec_someone_else' });
        const session = stripe.session(started.sessionId)!;
        const signed = forged.signEvent('checkout.session.completed', {
          id: session.id,
          object: 'checkout.session',
          payment_status: 'paid',
          amount_total: session.amount_total,
          currency: session.currency,
          client_reference_id: session.client_reference_id,
          payment_intent: 'pi_forged',
        });
        let code = '';
        try {
          await payments.handleWebhook(signed.body, { 'stripe-signature': signed.signature });
        } catch (err) {
          code = err instanceof AppError ? err.code : String(err);
        }
        expect(code).toBe('payment_signature_invalid');
        expect(await store.db.selectFrom('vends').select('id').execute()).toEqual([]);
        expect(await store.db.selectFrom('payment_events').select('event_id').execute()).toEqual([]);
        const payment = await store.db.selectFrom('payments').select('status').executeTakeFirstOrThrow();
        expect(payment.status).toBe('pending');
        expect(await accountBalance(store.db, w.accountId)).toBe(0n);
      } finally {
        await stripe.stop();
      }
    });

    dbTest('refunds and disputes are recorded against the payment with audit rows', async ({ store }) => {
      const { w, stripe, payments } = await setup(store);
      try {
        const started = await checkout(payments, w);
        const paid = stripe.completeSession(started.sessionId);
        await payments.handleWebhook(paid.body, { 'stripe-signature': paid.signature });
        const intent = stripe.session(started.sessionId)!.payment_intent!;
        const refund = stripe.signEvent('charge.refunded', {
          id: 'ch_1',
          object: 'charge',
          amount: 4000,
          amount_refunded: 4000,
          payment_intent: intent,
        });
        expect(
          (await payments.handleWebhook(refund.body, { 'stripe-signature': refund.signature })).outcome,
        ).toBe('recorded');
        const dispute = stripe.signEvent('charge.dispute.created', {
          id: 'dp_1',
          object: 'dispute',
          amount: 4000,
          payment_intent: intent,
          reason: 'fraudulent',
        });
        await payments.handleWebhook(dispute.body, { 'stripe-signature': dispute.signature });
        const row = await store.db
          .selectFrom('payments')
          .select(['status', 'refunded_minor', 'disputed'])
          .executeTakeFirstOrThrow();
        expect(row).toEqual({ status: 'disputed', refunded_minor: 4000n, disputed: true });
        const actions = (await store.db.selectFrom('audit_log').select('action').orderBy('id').execute()).map(
          (a) => a.action,
        );
        expect(actions).toEqual(['vend.issue', 'payment.refund', 'payment.dispute']);
      } finally {
        await stripe.stop();
      }
    });
  });

  describe('Thawani payments', () => {
    const KEYS = { secretKey: 'sk_thawani_test', publishableKey: 'pk_thawani_test' };
    const WEBHOOK_SECRET = 'thawani-webhook-secret-test';

    /** The vending world as an Omani utility paying through Thawani, beside Stripe in the same registry. */
    async function setup(store: Store) {
      const w = await vendingWorld(store);
      await store.db
        .updateTable('utilities')
        .set({ currency: 'OMR', timezone: 'Asia/Muscat', payment_provider: 'thawani' })
        .where('id', '=', w.utilityId)
        .execute();
      const thawani = new LocalThawani({ ...KEYS, webhookSecret: WEBHOOK_SECRET });
      const apiBase = await thawani.start();
      const payments = new PaymentService({
        db: store.db,
        registry: new PaymentRegistry(
          [
            new StripeProvider({
              secretKey: 'sk_test_rasid',
              webhookSecret: SECRET,
              apiBase: 'http://127.0.0.1:9',
            }),
            new ThawaniProvider({ ...KEYS, webhookSecret: WEBHOOK_SECRET, apiBase }),
          ],
          'stripe',
        ),
        vending: w.service,
      });
      const started = await checkout(payments, w);
      return { w, thawani, payments, started, session: thawani.session(started.sessionId)! };
    }

    function headersOf(e: { headers: Record<string, string> }) {
      return e.headers;
    }

    dbTest('a paid session gives one token however often its callback is replayed', async ({ store }) => {
      const { thawani, payments, started, session } = await setup(store);
      try {
        // The utility's choice sends the customer to Thawani: one product of 4.000 OMR in baisa.
        expect(started.url).toBe(`${thawani.url}/pay/${started.sessionId}?key=pk_thawani_test`);
        expect(session.products).toEqual([
          { name: 'Electricity top-up, meter jo-M-0001', quantity: 1, unit_amount: 4000 },
        ]);
        expect(session.client_reference_id).toBe(started.paymentId);
        expect(session.success_url).toBe(`http://127.0.0.1/topup?session=${started.paymentId}`);
        thawani.markPaid(started.sessionId);
        const event = thawani.completedEvent(started.sessionId);
        const first = await payments.handleWebhook(event.body, headersOf(event), 'thawani');
        const again = await payments.handleWebhook(event.body, headersOf(event), 'thawani');
        // The same callback signed again later (Thawani's retry) is still the one event.
        const later = thawani.completedEvent(started.sessionId);
        const third = await payments.handleWebhook(later.body, headersOf(later), 'thawani');
        expect([first.outcome, again.outcome, third.outcome]).toEqual(['vended', 'duplicate', 'duplicate']);
        expect(await store.db.selectFrom('tokens').select('id').execute()).toHaveLength(1);
        const payment = await store.db
          .selectFrom('payments')
          .select(['provider', 'status', 'provider_payment_ref'])
          .executeTakeFirstOrThrow();
        expect(payment).toEqual({
          provider: 'thawani',
          status: 'succeeded',
          provider_payment_ref: session.payment_id,
        });
        // The customer's page holds Rasid's payment id (Thawani does not return its session id).
        const result = await payments.checkoutResult(started.paymentId);
        expect(result.token).toMatch(/^\d{20}$/);
      } finally {
        await thawani.stop();
      }
    });

    dbTest(
      'a callback saying paid for a session Thawani reports unpaid gives no token',
      async ({ store }) => {
        const { thawani, payments, started, session } = await setup(store);
        try {
          // Correctly signed (a leaked secret, or a mistaken sender), but Thawani says the session is not paid.
          const claim = thawani.signEvent('checkout.completed', {
            session_id: session.session_id,
            client_reference_id: session.client_reference_id,
            payment_status: 'paid',
            total_amount: session.total_amount,
            currency: 'OMR',
            invoice: session.invoice,
          });
          const out = await payments.handleWebhook(claim.body, headersOf(claim), 'thawani');
          expect(out.outcome).toBe('ignored');
          expect(await store.db.selectFrom('vends').select('id').execute()).toEqual([]);
          expect(await store.db.selectFrom('payment_events').select('event_id').execute()).toEqual([]);
          expect((await payments.checkoutResult(started.paymentId)).status).toBe('pending');
        } finally {
          await thawani.stop();
        }
      },
    );

    dbTest('a bad or stale signature is refused and nothing changes', async ({ store }) => {
      const { w, thawani, payments, started } = await setup(store);
      try {
        thawani.markPaid(started.sessionId);
        const forged = thawani.completedEvent(started.sessionId, 'someone-elses-secret-000');
        const stale = thawani.signEvent(
          'checkout.completed',
          JSON.parse(thawani.completedEvent(started.sessionId).body).data,
          WEBHOOK_SECRET,
          new Date(Date.now() - 3_600_000),
        );
        const tampered = thawani.completedEvent(started.sessionId);
        const codes: string[] = [];
        for (const e of [
          forged,
          stale,
          { ...tampered, body: tampered.body.replace('"paid"', '"paid" ') },
          { ...tampered, headers: { 'content-type': 'application/json' } },
        ]) {
          try {
            await payments.handleWebhook(e.body, headersOf(e), 'thawani');
            codes.push('accepted');
          } catch (err) {
            codes.push(err instanceof AppError ? err.code : String(err));
          }
        }
        expect(codes).toEqual(Array(4).fill('payment_signature_invalid'));
        expect(await store.db.selectFrom('vends').select('id').execute()).toEqual([]);
        expect(await accountBalance(store.db, w.accountId)).toBe(0n);
      } finally {
        await thawani.stop();
      }
    });

    dbTest(
      'an operator refund goes to Thawani with its payment id and is recorded once',
      async ({ store }) => {
        const { w, thawani, payments, started, session } = await setup(store);
        try {
          await expect(
            payments.refund({
              utilityId: w.utilityId,
              paymentId: started.paymentId,
              reason: 'not paid',
              actor: 'user:x',
            }),
          ).rejects.toMatchObject({ code: 'conflict' });
          thawani.markPaid(started.sessionId);
          const event = thawani.completedEvent(started.sessionId);
          await payments.handleWebhook(event.body, headersOf(event), 'thawani');
          const out = await payments.refund({
            utilityId: w.utilityId,
            paymentId: started.paymentId,
            reason: 'meter replaced before use',
            actor: 'user:omar',
          });
          expect(out).toMatchObject({ amountMinor: 4000n, status: 'refunded' });
          expect(thawani.refunds).toEqual([
            { refund_id: out.refundId, payment_id: session.payment_id, reason: 'meter replaced before use' },
          ]);
          await expect(
            payments.refund({
              utilityId: w.utilityId,
              paymentId: started.paymentId,
              reason: 'again',
              actor: 'user:x',
            }),
          ).rejects.toMatchObject({ code: 'conflict' });
          const audit = await store.db
            .selectFrom('audit_log')
            .select(['action', 'actor'])
            .where('action', '=', 'payment.refund')
            .execute();
          expect(audit).toEqual([{ action: 'payment.refund', actor: 'user:omar' }]);
        } finally {
          await thawani.stop();
        }
      },
    );
  });

  describe("a bank's hosted payment page", () => {
    const BANK = { merchantId: 'UTIL-0042', secret: 'bank-and-utility-shared-secret-0123456789' };

    async function setup(store: Store) {
      const w = await vendingWorld(store);
      await store.db
        .updateTable('utilities')
        .set({ payment_provider: 'hpp' })
        .where('id', '=', w.utilityId)
        .execute();
      const bank = new LocalHpp(BANK);
      const paymentUrl = `${await bank.start()}/pay`;
      const payments = new PaymentService({
        db: store.db,
        registry: new PaymentRegistry([
          new StripeProvider({
            secretKey: 'sk_test_rasid',
            webhookSecret: SECRET,
            apiBase: 'http://127.0.0.1:9',
          }),
          new HostedPageProvider({ ...BANK, paymentUrl, callbackUrl: 'http://127.0.0.1:1/unused' }),
        ]),
        vending: w.service,
      });
      const started = await checkout(payments, w);
      return { w, bank, payments, started };
    }

    /** What the bank page does when the customer opens the signed address and pays. */
    async function payAtBank(bank: LocalHpp, url: string) {
      const opened = await fetch(url);
      expect(opened.status).toBe(200);
      const orderId = new URL(url).searchParams.get('order_id')!;
      bank.orders.get(orderId)!.status = 'paid';
      return bank.callback(orderId);
    }

    const form = (f: Record<string, string>) => new URLSearchParams(f).toString();
    const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

    dbTest(
      'a signed redirect, then one token for the signed callback however often it comes',
      async ({ store }) => {
        const { bank, payments, started } = await setup(store);
        try {
          const url = new URL(started.url);
          expect(url.searchParams.get('amount')).toBe('4000');
          expect(url.searchParams.get('order_id')).toBe(started.paymentId);
          const callback = await payAtBank(bank, started.url);
          const first = await payments.handleWebhook(form(callback), FORM, 'hpp');
          const again = await payments.handleWebhook(form(callback), FORM, 'hpp');
          // The same callback as JSON (some banks post JSON) is the same event.
          const json = await payments.handleWebhook(
            JSON.stringify(callback),
            { 'content-type': 'application/json' },
            'hpp',
          );
          expect([first.outcome, again.outcome, json.outcome]).toEqual(['vended', 'duplicate', 'duplicate']);
          expect(await store.db.selectFrom('tokens').select('id').execute()).toHaveLength(1);
          expect((await payments.checkoutResult(started.paymentId)).token).toMatch(/^\d{20}$/);
        } finally {
          await bank.stop();
        }
      },
    );

    dbTest(
      'a tampered redirect is refused by the bank; a tampered or foreign callback gives no token',
      async ({ store }) => {
        const { w, bank, payments, started } = await setup(store);
        try {
          const cheaper = new URL(started.url);
          cheaper.searchParams.set('amount', '1');
          expect((await fetch(cheaper)).status).toBe(403);
          expect(bank.refused).toBe(1);
          const callback = await payAtBank(bank, started.url);
          const codes: string[] = [];
          for (const f of [
            { ...callback, amount: '400000' },
            bank.callback(started.paymentId, 'paid', 'someone-else-secret-0123456789-abcdef'),
            { ...callback, merchant_id: 'OTHER' },
            Object.fromEntries(Object.entries(callback).filter(([k]) => k !== 'signature')),
          ]) {
            try {
              await payments.handleWebhook(form(f), FORM, 'hpp');
              codes.push('accepted');
            } catch (err) {
              codes.push(err instanceof AppError ? err.code : String(err));
            }
          }
          expect(codes).toEqual(Array(4).fill('payment_signature_invalid'));
          // A signed "failed" outcome is recorded as nothing.
          const failed = await payments.handleWebhook(
            form(bank.callback(started.paymentId, 'failed')),
            FORM,
            'hpp',
          );
          expect(failed.outcome).toBe('ignored');
          expect(await store.db.selectFrom('vends').select('id').execute()).toEqual([]);
          expect(await accountBalance(store.db, w.accountId)).toBe(0n);
          expect(bodyFields('a=1&b=%20x', FORM)).toEqual({ a: '1', b: ' x' });
        } finally {
          await bank.stop();
        }
      },
    );
  });
}
