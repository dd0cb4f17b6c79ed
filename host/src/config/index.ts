/** budlink.config.json, BUDLINK_* environment variables and flags → BudlinkConfig (config.ts). */
export * from './config';
