// A user strategy module for `minimind mask show --strategy <path>` tests: each query sees itself and the two
// keys before it (a bare mask mod, exported as default).
export default (_batch, _head, query, key) => key <= query && query - key <= 2;
