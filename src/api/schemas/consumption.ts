/** The HTTP shape of a meter's consumption, as the customer's and the staff's routes both answer it. */
import { z } from 'zod';
import { CONSUMPTION_BUCKETS } from '../../meters/consumption.ts';
import { Instant } from '../routes/admin-shared.ts';

const Bucket = z.enum(CONSUMPTION_BUCKETS);

/** The query of a meter's consumption: the bucket and the period (customer and staff routes alike). */
export const ConsumptionQuery = z.object({
  bucket: Bucket.default('day'),
  from: Instant.optional().describe('default: 30 days (day), 12 weeks (week) or 12 months (month) back'),
  to: Instant.optional().describe('default now'),
});

/** A meter's consumption per bucket, as both the customer's and the staff's routes answer it. */
export const ConsumptionOut = z.object({
  meterId: z.string(),
  unit: z.enum(['Wh', 'L']),
  bucket: Bucket,
  from: z.string(),
  to: z.string(),
  total: z.string(),
  series: z.array(z.object({ start: z.string(), end: z.string(), units: z.string(), readings: z.number() })),
});
