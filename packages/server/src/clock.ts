/** Milliseconds since the epoch. One function, so that tests can move time without sleeping. */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
