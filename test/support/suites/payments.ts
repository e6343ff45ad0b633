import { describe, expect } from 'vitest';
import { AppError } from '../../../src/api/errors.ts';
import { PaymentService } from '../../../src/payments/service.ts';
import { StripeProvider } from '../../../src/payments/stripe.ts';
import { LocalStripe } from '../../../src/payments/stripe-local.ts';
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
}
