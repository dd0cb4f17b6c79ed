/*
 * Budlink hardware shim for the Linux build of Espruino: the parts of an nRF52 earbud that a Linux
 * process does not have (ADC, PWM, utility timer, GPIO, watchdog, memory-mapped flash, the BLE radio),
 * emulated natively so that they cost no JsVars and almost no instructions. Linked into the
 * interpreter by the board files that firmware/espruino/build.ts writes; the patch
 * firmware/espruino/linux-hardware.patch makes targets/linux/jshardware.c call these hooks.
 *
 * A Node process drives the device through two pipes (see docs/ESPRUINO-ENGINE.md):
 *   fd 3 (commands in):  one line per command, e.g. "A 8080ff..." (microphone samples)
 *   fd 4 (events out):   one line per event, "<kind> <device time in us> <args>"
 * Without those file descriptors the shim is inert (no radio, silent microphone).
 */
#ifndef BUDLINK_HW_H
#define BUDLINK_HW_H

#include "jsutils.h"
#include "jspin.h"

/** Called from jshInit(): clock origin, pipes, random seed, watchdog thread. */
void bhwInit(void);
/** The device clock in microseconds since power-on (scaled by BUDLINK_TIME_SCALE). */
JsSysTime bhwSystemTime(void);
/** Called from jshIdle() at the top of every idle loop: commands, timer interrupts, watchdog. */
void bhwIdle(void);
/** Called from jshSleep(): sleep until `timeUntilWake`, a command, or the next buffer swap. */
void bhwSleep(JsSysTime timeUntilWake);

/** The utility timer (Waveform's sample clock) from jshUtilTimerStart/Reschedule/Disable. */
void bhwUtilTimerStart(JsSysTime period);
void bhwUtilTimerReschedule(JsSysTime period);
void bhwUtilTimerDisable(void);

/** ADC: one microphone sample (16-bit, as the nRF52's fast read) and the slow read (0..1). */
int bhwPinAnalogFast(Pin pin);
JsVarFloat bhwPinAnalog(Pin pin);
/** PWM set up by analogWrite(); the function Waveform.startOutput writes samples to. */
JshPinFunction bhwPinAnalogOutput(Pin pin, JsVarFloat value, JsVarFloat freq);
JshPinFunction bhwGetCurrentPinFunction(Pin pin);
void bhwSetOutputValue(JshPinFunction func, int value);
/** GPIO levels (LEDs out, button in). */
void bhwPinSetValue(Pin pin, bool value);
bool bhwPinGetValue(Pin pin);

/** Hardware watchdog: reset when not kicked within the timeout. */
void bhwEnableWatchdog(JsVarFloat timeout);
void bhwKickWatchdog(void);
/** E.reboot() / a watchdog reset: tell the driver, then end the process (it starts a new one). */
void bhwReboot(const char *why);

/** Flash: the fake flash file memory-mapped, so code in Storage is read in place as on an nRF52. */
size_t bhwFlashMemMapAddress(size_t addr);
void bhwFlashRead(void *buf, uint32_t addr, uint32_t len);
void bhwFlashWrite(void *buf, uint32_t addr, uint32_t len);
void bhwFlashErase(uint32_t addr, uint32_t len);
bool bhwFlashAvailable(void);

/* JavaScript API (wrapper declarations in budlink_hw.c): the NRF class and E.getBattery's board hook. */
#include "jsvar.h"
void bhw_nrf_setServices(JsVar *data, JsVar *options);
void bhw_nrf_updateServices(JsVar *data);
void bhw_nrf_setAdvertising(JsVar *data, JsVar *options);
void bhw_nrf_setConnectionInterval(JsVar *interval);
JsVarFloat bhw_nrf_getBattery(void);
void bhw_nrf_disconnect(void);
JsVarInt bhwGetBattery(void);
void bhw_jsinit(void);

#endif
