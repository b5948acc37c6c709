// Exports nothing a strategy loader can use (for the error-message test).
export const answer = 42;
