/**
 * In the description of a staleness alarm whose sources are all unfilled placeholders: its actions stay
 * off, and `npm run failover` (which turns staleness alarms on in the region it starts) leaves it so.
 */
export const PLACEHOLDER_NOTE = 'Placeholder secret: silent until it is filled.';
