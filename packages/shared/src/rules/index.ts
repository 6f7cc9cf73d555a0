export * from './json-path.ts';
export * from './ip.ts';
export * from './rule-schema.ts';
export * from './conditions.ts';
export * from './format.ts';
export * from './plan.ts';
