// The published value's contract lives with its readers (@token-refresher/client); the refresher writes the same.
export * from '../packages/client/src/token-contract.ts';
