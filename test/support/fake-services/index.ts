/** The local fake voice services the tests and benches talk to: OpenAI REST, OpenAI Realtime, Doubao. */
export * from './openai-rest';
export * from './openai-realtime';
export * from './doubao';
