// asl-validator ships no type declarations; this covers what the tests use.
declare module 'asl-validator' {
  const validator: (definition: unknown) => { isValid: boolean; errors: unknown[] };
  export default validator;
}
