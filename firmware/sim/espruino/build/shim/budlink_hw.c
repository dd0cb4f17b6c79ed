/*
 * Budlink hardware shim for the Linux build of Espruino (see budlink_hw.h and
 * docs/ESPRUINO-ENGINE.md). Everything here is native C: it costs the firmware no JsVars except where
 * the real nRF52 firmware allocates them too (service data kept in hiddenRoot, the write handlers on
 * root, the event objects), and it allocates those the same way, under the same names, as Espruino's
 * libs/bluetooth and targets/nrf5x do.
 *
 * Licensed like the rest of Budlink. The JSON comments below are Espruino's wrapper declarations: its
 * build (scripts/build_jswrapper.py) turns them into the NRF class the firmware calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "budlink_hw.h"
#include "jsdevices.h"
#include "jshardware.h"
#include "jsinteractive.h"
#include "jsparse.h"
#include "jstimer.h"
#include "jsvar.h"
#include "jsvariterator.h"
#include "jswrapper.h"

/* The shim's own I/O (reading commands, reporting events): never inlined, so that instruction counts
 * can leave it out by name (valgrind --toggle-collect; see firmware/espruino/cpu.ts). */
#define BHW_IO __attribute__((noinline))

#define BHW_CMD_FD 3
#define BHW_EVT_FD 4
#define BHW_MAX_CHARS 16
#define BHW_MAX_VALUE 512
#define BHW_MIC_QUEUE (1 << 22)
#define BHW_PWM_SLOTS 12
#define BHW_OUT_MAX 4096
#define BHW_REBOOT_EXIT 75

// Names Espruino's Bluetooth library keeps its state under (libs/bluetooth/bluetooth_utils.h): the same
// names, so the same JsVars.
#define BLE_NAME_SERVICE_DATA "BLE_SVC_D"
#define BLE_NAME_SERVICE_OPTIONS "BLE_SVC_O"
#define BLE_NAME_SERVICE_ADVERTISE "BLE_SVC_A"
#define BLE_NAME_ADVERTISE_DATA "BLE_ADV_D"
#define BLE_NAME_ADVERTISE_OPTIONS "BLE_ADV_O"
#define BLE_NAME_NUS "BLE_UART"
#define BLE_WRITE_EVENT JS_EVENT_PREFIX "blew"
#define BLE_FIRST_USER_HANDLE 0x0e

// jshardware.c (Linux target)
IOEventFlags pinToEVEXTI(Pin pin);
extern JsSysTime utilTimerSetTime;
extern uint8_t utilTimerTasks[UTILTIMERTASK_TASKS];
extern volatile unsigned char utilTimerTasksHead;
extern volatile unsigned char utilTimerTasksTail;

// ----------------------------------------------------------------------------------------------- clock
static struct timespec bhwT0;
static double bhwScale = 1.0;
static JsSysTime bhwClockOffset = 0;
static volatile bool bhwInIrq = false;
static JsSysTime bhwIrqTime = 0;

static JsSysTime bhwRawTime(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  double us = (double)(t.tv_sec - bhwT0.tv_sec) * 1e6 + (double)(t.tv_nsec - bhwT0.tv_nsec) / 1e3;
  return (JsSysTime)(us * bhwScale) + bhwClockOffset;
}

JsSysTime bhwSystemTime(void) {
  // Inside an emulated interrupt the clock reads the time the interrupt was due, as on the device.
  if (bhwInIrq) return bhwIrqTime;
  return bhwRawTime();
}

// ----------------------------------------------------------------------------------------------- events out
static FILE *bhwOut = NULL;

BHW_IO static void bhwEmit(const char *kind, const char *fmt, ...) {
  if (!bhwOut) return;
  fprintf(bhwOut, "%s %lld", kind, (long long)bhwRawTime());
  if (fmt && fmt[0]) {
    fputc(' ', bhwOut);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(bhwOut, fmt, ap);
    va_end(ap);
  }
  fputc('\n', bhwOut);
}

BHW_IO static void bhwEmitHex(const char *kind, const char *prefix, const unsigned char *data, size_t len) {
  if (!bhwOut) return;
  fprintf(bhwOut, "%s %lld %s ", kind, (long long)bhwRawTime(), prefix);
  for (size_t i = 0; i < len; i++) fprintf(bhwOut, "%02x", data[i]);
  fputc('\n', bhwOut);
}

BHW_IO static void bhwFlush(void) {
  if (bhwOut) fflush(bhwOut);
}

// ----------------------------------------------------------------------------------------------- GPIO
static unsigned char bhwLevel[JSH_PIN_COUNT];       // physical level of every pin
static signed char bhwReported[JSH_PIN_COUNT];      // last output level reported (-1: never)

static bool bhwNegated(Pin pin) {
  return (pinInfo[pin].port & JSH_PIN_NEGATED) != 0;
}

void bhwPinSetValue(Pin pin, bool value) {
  if (!jshIsPinValid(pin)) return;
  // targets/nrf5x negates JSH_PIN_NEGATED pins in software (DK LEDs and buttons): mirror it.
  bhwLevel[pin] = (unsigned char)(value != bhwNegated(pin));
  if (bhwReported[pin] != (signed char)value) {
    bhwReported[pin] = (signed char)value;
    char name[8];
    jshGetPinString(name, pin);
    bhwEmit("L", "%s %d", name, value ? 1 : 0);
  }
}

bool bhwPinGetValue(Pin pin) {
  if (!jshIsPinValid(pin)) return false;
  return (bhwLevel[pin] != 0) != bhwNegated(pin);
}

/** A button: `pressed` means electrically active. Buttons on these boards are wired so that Espruino
 * reads 1 while pressed (pulled down, or negated in software where the wiring is active low). */
static void bhwSetButton(Pin pin, bool pressed) {
  bool physical = pressed != bhwNegated(pin);
  if ((bhwLevel[pin] != 0) == physical) return;
  bhwLevel[pin] = physical;
  IOEventFlags exti = pinToEVEXTI(pin);
  if (exti) {
    bool state = physical != bhwNegated(pin);
    jshPushIOEvent(exti | (state ? EV_EXTI_IS_HIGH : 0), jshGetSystemTime());
  }
}

// ----------------------------------------------------------------------------------------------- ADC
static unsigned char *bhwMic = NULL; // queued microphone samples (8-bit unsigned)
static size_t bhwMicHead = 0, bhwMicTail = 0;
// Consumption report: runs of fed samples ('f') and silence while the queue was empty ('s').
static char bhwMicRunKind = 0;
static unsigned long bhwMicRun = 0;
static char bhwMicReport[4096];
static size_t bhwMicReportLen = 0;

BHW_IO static void bhwMicFlushRun(void) {
  if (!bhwMicRun) return;
  if (bhwMicReportLen + 24 > sizeof(bhwMicReport)) {
    bhwEmit("a", "%s", bhwMicReport);
    bhwMicReportLen = 0;
  }
  bhwMicReportLen += (size_t)snprintf(bhwMicReport + bhwMicReportLen, sizeof(bhwMicReport) - bhwMicReportLen,
                                      "%s%c%lu", bhwMicReportLen ? " " : "", bhwMicRunKind, bhwMicRun);
  bhwMicRun = 0;
}

static void bhwMicCount(char kind) {
  if (kind != bhwMicRunKind) {
    bhwMicFlushRun();
    bhwMicRunKind = kind;
  }
  bhwMicRun++;
}

// Button changes due once the ADC has taken a number of samples ('K'): so that a test can press at the same point of the audio
// timeline on every engine, whatever the wall clock does.
#define BHW_SAMPLE_PRESSES 8
static struct {
  Pin pin;
  bool pressed;
  unsigned long at;
} bhwSamplePress[BHW_SAMPLE_PRESSES];
static int bhwSamplePresses = 0;
static unsigned long bhwAdcTaken = 0; // samples the ADC has taken since power-on

static void bhwSamplePressesDue(void) {
  for (int i = 0; i < bhwSamplePresses;) {
    if (bhwSamplePress[i].at <= bhwAdcTaken) {
      bhwSetButton(bhwSamplePress[i].pin, bhwSamplePress[i].pressed);
      bhwSamplePress[i] = bhwSamplePress[--bhwSamplePresses];
    } else
      i++;
  }
}

int bhwPinAnalogFast(Pin pin) {
  NOT_USED(pin);
  if (bhwSamplePresses) bhwSamplePressesDue();
  bhwAdcTaken++;
  if (bhwMicHead == bhwMicTail) {
    bhwMicCount('s');
    return 128 << 8;
  }
  unsigned char v = bhwMic[bhwMicTail];
  bhwMicTail = (bhwMicTail + 1) & (BHW_MIC_QUEUE - 1);
  bhwMicCount('f');
  return v << 8;
}

JsVarFloat bhwPinAnalog(Pin pin) {
  NOT_USED(pin);
  unsigned char v = bhwMicHead == bhwMicTail ? 128 : bhwMic[bhwMicTail];
  return (JsVarFloat)v / 256.0;
}

// ----------------------------------------------------------------------------------------------- PWM
static Pin bhwPwmPin[BHW_PWM_SLOTS];
static int bhwPwmCount = 0;
// Speaker output: every value the PWM outputs take, in order, as (pin, value) entries (values are 16-bit,
// but a differential npin gets 65536 for the most negative sample); flushed as
// "O <time of the first> <pin>:<value hex>[,<value>...] ..." so the driver can rebuild the signal.
static uint32_t bhwOutBuf[BHW_OUT_MAX];
static int bhwOutLen = 0;
static JsSysTime bhwOutStart = 0;

static JshPinFunction bhwPwmFunction(int slot) {
  return (JshPinFunction)((JSH_TIMER1 + ((slot / 4) << JSH_SHIFT_TYPE)) | ((slot % 4) << JSH_SHIFT_INFO));
}

JshPinFunction bhwPinAnalogOutput(Pin pin, JsVarFloat value, JsVarFloat freq) {
  NOT_USED(value);
  NOT_USED(freq);
  for (int i = 0; i < bhwPwmCount; i++)
    if (bhwPwmPin[i] == pin) return bhwPwmFunction(i);
  if (bhwPwmCount >= BHW_PWM_SLOTS) return JSH_NOTHING; // the nRF52 has 3 PWM modules x 4 channels
  bhwPwmPin[bhwPwmCount] = pin;
  return bhwPwmFunction(bhwPwmCount++);
}

JshPinFunction bhwGetCurrentPinFunction(Pin pin) {
  for (int i = 0; i < bhwPwmCount; i++)
    if (bhwPwmPin[i] == pin) return bhwPwmFunction(i);
  return JSH_NOTHING;
}

BHW_IO static void bhwOutFlush(void) {
  if (!bhwOutLen || !bhwOut) {
    bhwOutLen = 0;
    return;
  }
  fprintf(bhwOut, "O %lld", (long long)bhwOutStart);
  Pin last = PIN_UNDEFINED;
  for (int i = 0; i < bhwOutLen; i++) {
    Pin pin = (Pin)(bhwOutBuf[i] >> 17);
    if (pin != last) {
      char name[8];
      jshGetPinString(name, pin);
      fprintf(bhwOut, " %s:", name);
      last = pin;
    } else
      fputc(',', bhwOut);
    fprintf(bhwOut, "%05x", (unsigned)(bhwOutBuf[i] & 0x1FFFF));
  }
  fputc('\n', bhwOut);
  bhwOutLen = 0;
}

void bhwSetOutputValue(JshPinFunction func, int value) {
  for (int i = 0; i < bhwPwmCount; i++) {
    if (bhwPwmFunction(i) != func) continue;
    if (bhwOutLen >= BHW_OUT_MAX) bhwOutFlush();
    if (!bhwOutLen) bhwOutStart = bhwSystemTime();
    // 17 bits: a differential output drives npin with 65536 for a full-scale negative sample
    bhwOutBuf[bhwOutLen++] = ((uint32_t)bhwPwmPin[i] << 17) | ((uint32_t)value & 0x1FFFF);
    return;
  }
}

// ----------------------------------------------------------------------------------------------- util timer
static bool bhwTimerOn = false;
static JsSysTime bhwTimerNext = 0;

void bhwUtilTimerStart(JsSysTime period) {
  bhwTimerOn = true;
  bhwTimerNext = utilTimerSetTime + period;
}

void bhwUtilTimerReschedule(JsSysTime period) {
  bhwTimerOn = true;
  bhwTimerNext = utilTimerSetTime + period;
}

void bhwUtilTimerDisable(void) {
  bhwTimerOn = false;
}

/** Run every utility-timer interrupt due by `now`, each at its own time (samples keep their spacing). */
static void bhwRunTimer(JsSysTime now) {
  int guard = 1 << 20;
  while (bhwTimerOn && bhwTimerNext <= now && guard--) {
    bhwIrqTime = bhwTimerNext;
    bhwInIrq = true;
    jstUtilTimerInterruptHandler();
    bhwInIrq = false;
  }
  // Speaker samples go out in the order the PWM saw them, pins interleaved.
}

/** When the next Waveform buffer swap is due (the idle loop only needs to run then), or -1. */
static JsSysTime bhwNextSwap(void) {
  if (!bhwTimerOn) return -1;
  JsSysTime best = -1;
  unsigned char t = utilTimerTasksTail;
  while (t != utilTimerTasksHead) {
    UtilTimerTask *task = &utilTimerTaskInfo[utilTimerTasks[t]];
    JsSysTime due = utilTimerSetTime + task->time;
    if (UET_IS_BUFFER_EVENT(task->type) && task->data.buffer.var && task->repeatInterval) {
      int left = (int)task->data.buffer.endIdx - (int)task->data.buffer.charIdx;
      if (task->type == UET_READ_SHORT || task->type == UET_WRITE_SHORT) left = (left + 1) / 2;
      if (left < 1) left = 1;
      due += (JsSysTime)(left - 1) * task->repeatInterval;
    }
    if (best < 0 || due < best) best = due;
    t = (unsigned char)((t + 1) & (UTILTIMERTASK_TASKS - 1));
  }
  return best;
}

// ----------------------------------------------------------------------------------------------- watchdog
static volatile double bhwWdtTimeout = 0; // seconds of device time, 0 = off
static volatile JsSysTime bhwWdtKick = 0;
static volatile bool bhwWdtFired = false;

void bhwEnableWatchdog(JsVarFloat timeout) {
  bhwWdtKick = bhwRawTime();
  bhwWdtTimeout = timeout > 0 ? timeout : 0;
}

void bhwKickWatchdog(void) {
  bhwWdtKick = bhwRawTime();
}

void bhwReboot(const char *why) {
  bhwOutFlush();
  bhwMicFlushRun();
  if (bhwMicReportLen) bhwEmit("a", "%s", bhwMicReport);
  bhwEmit("R", "%s", why);
  bhwFlush();
  fflush(stdout);
  _exit(BHW_REBOOT_EXIT);
}

static void *bhwWatchdogThread(void *arg) {
  NOT_USED(arg);
  for (;;) {
    usleep(5000);
    double timeout = bhwWdtTimeout;
    if (timeout > 0 && (double)(bhwRawTime() - bhwWdtKick) > timeout * 1e6 && !bhwWdtFired) {
      // The hardware resets the chip wherever the CPU is, even inside a long JavaScript job.
      bhwWdtFired = true;
      char line[64];
      int n = snprintf(line, sizeof(line), "R %lld watchdog\n", (long long)bhwRawTime());
      if (write(BHW_EVT_FD, line, (size_t)n) < 0) { /* nobody listening */ }
      _exit(BHW_REBOOT_EXIT);
    }
  }
  return NULL;
}

// ----------------------------------------------------------------------------------------------- flash
#ifndef FAKE_FLASH_FILENAME
#define FAKE_FLASH_FILENAME "espruino.flash"
#endif
static unsigned char *bhwFlash = NULL;

bool bhwFlashAvailable(void) {
  if (bhwFlash) return true;
  int fd = open(FAKE_FLASH_FILENAME, O_RDWR | O_CREAT, 0644);
  if (fd < 0) return false;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size < FLASH_TOTAL) {
    // a new flash chip reads as erased (0xFF)
    unsigned char ff[4096];
    memset(ff, 0xFF, sizeof(ff));
    lseek(fd, st.st_size, SEEK_SET);
    for (off_t n = st.st_size; n < FLASH_TOTAL; n += (off_t)sizeof(ff)) {
      size_t chunk = (size_t)(FLASH_TOTAL - n) < sizeof(ff) ? (size_t)(FLASH_TOTAL - n) : sizeof(ff);
      if (write(fd, ff, chunk) < 0) break;
    }
  }
  void *p = mmap(NULL, FLASH_TOTAL, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return false;
  bhwFlash = (unsigned char *)p;
  return true;
}

static bool bhwFlashRange(uint32_t addr, uint32_t len) {
  return addr >= FLASH_START && (uint64_t)addr + len <= (uint64_t)FLASH_START + FLASH_TOTAL && bhwFlashAvailable();
}

size_t bhwFlashMemMapAddress(size_t addr) {
  if (addr < FLASH_START || addr >= (size_t)FLASH_START + FLASH_TOTAL || !bhwFlashAvailable()) return 0;
  return (size_t)(bhwFlash + (addr - FLASH_START));
}

void bhwFlashRead(void *buf, uint32_t addr, uint32_t len) {
  if (!bhwFlashRange(addr, len)) {
    memset(buf, 0xFF, len);
    return;
  }
  memcpy(buf, bhwFlash + (addr - FLASH_START), len);
}

void bhwFlashWrite(void *buf, uint32_t addr, uint32_t len) {
  if (!bhwFlashRange(addr, len)) return;
  unsigned char *d = bhwFlash + (addr - FLASH_START);
  const unsigned char *s = (const unsigned char *)buf;
  for (uint32_t i = 0; i < len; i++) d[i] &= s[i]; // flash can only clear bits
}

void bhwFlashErase(uint32_t addr, uint32_t len) {
  if (!bhwFlashRange(addr, len)) return;
  memset(bhwFlash + (addr - FLASH_START), 0xFF, len);
}

// ----------------------------------------------------------------------------------------------- memory
// Peak tracking (command "G 1"): the JsVars still in use after a garbage collection, sampled at every
// notification the firmware sends (inside the job, temporaries included) and between jobs. Costs
// nothing when off.
static bool bhwPeakOn = false;
static unsigned int bhwPeakUsage = 0;

static void bhwSamplePeak(void) {
  if (!bhwPeakOn) return;
  jsvGarbageCollect();
  unsigned int u = jsvGetMemoryUsage();
  if (u > bhwPeakUsage) bhwPeakUsage = u;
}

// ----------------------------------------------------------------------------------------------- radio
typedef struct {
  char uuid[40];
  uint16_t handle;
  uint16_t maxLen;
  bool notify, readable, writable;
} BhwChar;

static BhwChar bhwChars[BHW_MAX_CHARS];
static int bhwCharCount = 0;
static bool bhwConnected = false;
static bool bhwRestartPending = false;
static int bhwBattery = 100;

static void bhwUuidOf(JsVar *key, char *out, size_t outLen) {
  // 128-bit UUIDs are strings; 16-bit ones may be numbers or 4 hex digits (lower-cased, as BlueZ does).
  if (jsvIsNumeric(key) && !jsvIsString(key)) {
    snprintf(out, outLen, "%04x", (unsigned)jsvGetInteger(key) & 0xFFFF);
    return;
  }
  jsvGetString(key, out, outLen);
  for (char *c = out; *c; c++)
    if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
}

static BhwChar *bhwFindChar(const char *uuid) {
  for (int i = 0; i < bhwCharCount; i++)
    if (!strcmp(bhwChars[i].uuid, uuid)) return &bhwChars[i];
  return NULL;
}

static void bhwWriteEventName(char *name, uint16_t handle) {
  // libs/bluetooth bleGetWriteEventName: "#onblew" + handle in hex, no padding
  strcpy(name, BLE_WRITE_EVENT);
  itostr(handle, &name[strlen(name)], 16);
}

/** jsble_set_services (targets/nrf5x/bluetooth.c): declare the characteristics, keep onWrite handlers. */
static void bhwApplyServices(void) {
  JsVar *data = jsvObjectGetChildIfExists(execInfo.hiddenRoot, BLE_NAME_SERVICE_DATA);
  JsVar *nus = jsvObjectGetChildIfExists(execInfo.hiddenRoot, BLE_NAME_NUS);
  bool uart = !nus || jsvGetBool(nus);
  jsvUnLock(nus);
  bhwCharCount = 0;
  // The Nordic UART service takes handles after GAP/GATT; user services follow.
  uint16_t handle = (uint16_t)(uart ? BLE_FIRST_USER_HANDLE + 7 : BLE_FIRST_USER_HANDLE);
  if (bhwOut) fprintf(bhwOut, "S %lld %d", (long long)bhwRawTime(), uart ? 1 : 0);
  if (jsvIsObject(data)) {
    JsvObjectIterator it;
    jsvObjectIteratorNew(&it, data);
    while (jsvObjectIteratorHasValue(&it)) {
      char svc[40];
      JsVar *key = jsvObjectIteratorGetKey(&it);
      bhwUuidOf(key, svc, sizeof(svc));
      jsvUnLock(key);
      handle++; // service declaration
      JsVar *service = jsvObjectIteratorGetValue(&it);
      JsvObjectIterator cit;
      jsvObjectIteratorNew(&cit, service);
      while (jsvObjectIteratorHasValue(&cit) && bhwCharCount < BHW_MAX_CHARS) {
        BhwChar *c = &bhwChars[bhwCharCount++];
        JsVar *ckey = jsvObjectIteratorGetKey(&cit);
        bhwUuidOf(ckey, c->uuid, sizeof(c->uuid));
        jsvUnLock(ckey);
        JsVar *charVar = jsvObjectIteratorGetValue(&cit);
        c->notify = jsvObjectGetBoolChild(charVar, "notify") || jsvObjectGetBoolChild(charVar, "indicate");
        c->readable = jsvObjectGetBoolChild(charVar, "readable");
        c->writable = jsvObjectGetBoolChild(charVar, "writable");
        JsVarInt maxLen = jsvObjectGetIntegerChild(charVar, "maxLen");
        JsVar *value = jsvObjectGetChildIfExists(charVar, "value");
        JsVarInt initLen = value ? (JsVarInt)jsvGetLength(value) : 0;
        jsvUnLock(value);
        if (maxLen <= 0) maxLen = 1;
        if (initLen > maxLen) maxLen = initLen;
        c->maxLen = (uint16_t)maxLen;
        c->handle = (uint16_t)(handle + 2); // characteristic declaration, then its value
        handle = (uint16_t)(handle + (c->notify ? 3 : 2));
        JsVar *writeCb = jsvObjectGetChildIfExists(charVar, "onWrite");
        if (writeCb) {
          char eventName[16];
          bhwWriteEventName(eventName, c->handle);
          jsvObjectSetChildAndUnLock(execInfo.root, eventName, writeCb);
        }
        jsvUnLock(charVar);
        if (bhwOut)
          fprintf(bhwOut, " %s/%s/%u/%s%s%s/%u", svc, c->uuid, c->handle, c->readable ? "r" : "",
                  c->writable ? "w" : "", c->notify ? "n" : "", c->maxLen);
        jsvObjectIteratorNext(&cit);
      }
      jsvObjectIteratorFree(&cit);
      jsvUnLock(service);
      jsvObjectIteratorNext(&it);
    }
    jsvObjectIteratorFree(&it);
  }
  jsvUnLock(data);
  if (bhwOut) fputc('\n', bhwOut);
  // Service UUIDs to advertise (setServices' `advertise`)
  JsVar *adv = jsvObjectGetChildIfExists(execInfo.hiddenRoot, BLE_NAME_SERVICE_ADVERTISE);
  if (bhwOut) {
    fprintf(bhwOut, "A %lld", (long long)bhwRawTime());
    if (jsvIsIterable(adv)) {
      JsvIterator it;
      jsvIteratorNew(&it, adv, JSIF_DEFINED_ARRAY_ElEMENTS);
      while (jsvIteratorHasElement(&it)) {
        char u[40];
        JsVar *v = jsvIteratorGetValue(&it);
        bhwUuidOf(v, u, sizeof(u));
        jsvUnLock(v);
        fprintf(bhwOut, " %s", u);
        jsvIteratorNext(&it);
      }
      jsvIteratorFree(&it);
    }
    fputc('\n', bhwOut);
  }
  jsvUnLock(adv);
  bhwRestartPending = false;
}

/*JSON{
  "type" : "class",
  "class" : "NRF"
}
The nRF52 radio of a Budlink earbud, emulated for the Linux build (the subset the firmware uses).
*/

/*JSON{
  "type" : "staticmethod",
  "class" : "NRF",
  "name" : "setServices",
  "generate" : "bhw_nrf_setServices",
  "params" : [
    ["data","JsVar","Services and characteristics"],
    ["options","JsVar","[optional] {uart, advertise}"]
  ]
}*/
void bhw_nrf_setServices(JsVar *data, JsVar *options) {
  if (!(jsvIsObject(data) || jsvIsUndefined(data))) {
    jsExceptionHere(JSET_TYPEERROR, "Expecting Object or undefined, got %t", data);
    return;
  }
  bool use_uart = true;
  JsVar *advertise = 0;
  jsvConfigObject configs[] = {
      {"uart", JSV_BOOLEAN, &use_uart},
      {"advertise", JSV_ARRAY, &advertise},
  };
  if (!jsvReadConfigObject(options, configs, sizeof(configs) / sizeof(jsvConfigObject))) return;
  if (use_uart)
    jsvObjectRemoveChild(execInfo.hiddenRoot, BLE_NAME_NUS);
  else
    jsvObjectSetBoolChild(execInfo.hiddenRoot, BLE_NAME_NUS, false);
  jsvObjectSetOrRemoveChild(execInfo.hiddenRoot, BLE_NAME_SERVICE_DATA, data);
  jsvObjectSetOrRemoveChild(execInfo.hiddenRoot, BLE_NAME_SERVICE_OPTIONS, options);
  jsvObjectSetOrRemoveChild(execInfo.hiddenRoot, BLE_NAME_SERVICE_ADVERTISE, advertise);
  jsvUnLock(advertise);
  if (bhwConnected) {
    // jswrap_ble_restart: the SoftDevice restarts only once nobody is connected
    jsiConsolePrintf("BLE Connected, queueing BLE restart for later\n");
    bhwRestartPending = true;
  } else
    bhwApplyServices();
}

/*JSON{
  "type" : "staticmethod",
  "class" : "NRF",
  "name" : "updateServices",
  "generate" : "bhw_nrf_updateServices",
  "params" : [
    ["data","JsVar","The service (and characteristics) to update"]
  ]
}*/
void bhw_nrf_updateServices(JsVar *data) {
  if (bhwRestartPending) {
    jsExceptionHere(JSET_ERROR, "Can't update services until BLE restart");
    return;
  }
  if (!jsvIsObject(data)) {
    if (!jsvIsUndefined(data)) jsExceptionHere(JSET_TYPEERROR, "Expecting Object or undefined, got %t", data);
    return;
  }
  bool ok = true;
  JsvObjectIterator it;
  jsvObjectIteratorNew(&it, data);
  while (ok && jsvObjectIteratorHasValue(&it)) {
    JsVar *serviceVar = jsvObjectIteratorGetValue(&it);
    JsvObjectIterator sit;
    jsvObjectIteratorNew(&sit, serviceVar);
    while (ok && jsvObjectIteratorHasValue(&sit)) {
      char uuid[40];
      JsVar *ckey = jsvObjectIteratorGetKey(&sit);
      bhwUuidOf(ckey, uuid, sizeof(uuid));
      BhwChar *c = bhwFindChar(uuid);
      if (!c) {
        jsExceptionHere(JSET_ERROR, "Unable to find service with UUID %v", ckey);
        jsvUnLock(ckey);
        ok = false;
        break;
      }
      jsvUnLock(ckey);
      JsVar *charVar = jsvObjectIteratorGetValue(&sit);
      JsVar *charValue = jsvObjectGetChildIfExists(charVar, "value");
      bool notify = jsvObjectGetBoolChild(charVar, "notify") || jsvObjectGetBoolChild(charVar, "indicate");
      if (charValue) {
        JSV_GET_AS_CHAR_ARRAY(vPtr, vLen, charValue);
        if (vPtr && vLen) {
          if (vLen > c->maxLen) {
            // sd_ble_gatts_value_set refuses a value longer than the characteristic's max_len
            jsExceptionHere(JSET_ERROR, "ERR 0x7 (INVALID_PARAM)");
            ok = false;
          } else {
            bhwEmitHex((notify && bhwConnected) ? "N" : "U", c->uuid, (const unsigned char *)vPtr, vLen);
            if (notify && bhwConnected) bhwSamplePeak();
          }
        }
      }
      jsvUnLock2(charValue, charVar);
      jsvObjectIteratorNext(&sit);
    }
    jsvObjectIteratorFree(&sit);
    jsvUnLock(serviceVar);
    jsvObjectIteratorNext(&it);
  }
  jsvObjectIteratorFree(&it);
}

/*JSON{
  "type" : "staticmethod",
  "class" : "NRF",
  "name" : "setAdvertising",
  "generate" : "bhw_nrf_setAdvertising",
  "params" : [
    ["data","JsVar","Advertising data (an object: service data; the firmware passes {})"],
    ["options","JsVar","[optional] {name, connectable, ...}"]
  ]
}*/
void bhw_nrf_setAdvertising(JsVar *data, JsVar *options) {
  if (!jsvIsObject(options) && !jsvIsUndefined(options)) {
    jsExceptionHere(JSET_TYPEERROR, "Expecting Object or undefined, got %t", options);
    return;
  }
  if (!jsvIsObject(data) && !jsvIsUndefined(data)) {
    jsExceptionHere(JSET_TYPEERROR, "Expecting Array or Object, got %t", data);
    return;
  }
  char name[32] = "";
  bool connectable = true;
  if (jsvIsObject(options)) {
    JsVar *v = jsvObjectGetChildIfExists(options, "name");
    if (v) jsvGetString(v, name, sizeof(name));
    jsvUnLock(v);
    v = jsvObjectGetChildIfExists(options, "connectable");
    if (v) connectable = jsvGetBool(v);
    jsvUnLock(v);
  }
  // The advertising packet _jswrap_ble_getAdvertisingData builds for an empty object: flags (3 bytes),
  // the name (2 + length, shortened to fit 31 bytes) and Espruino's manufacturer id 0x0590 (4 bytes).
  unsigned char adv[31];
  size_t len = 0;
  adv[len++] = 2;
  adv[len++] = 0x01;
  adv[len++] = 0x06;
  size_t nameLen = strlen(name);
  if (nameLen > 31 - 3 - 4 - 2) nameLen = 31 - 3 - 4 - 2;
  if (nameLen) {
    adv[len++] = (unsigned char)(nameLen + 1);
    adv[len++] = nameLen == strlen(name) ? 0x09 : 0x08;
    memcpy(&adv[len], name, nameLen);
    len += nameLen;
  }
  adv[len++] = 3;
  adv[len++] = 0xFF;
  adv[len++] = 0x90;
  adv[len++] = 0x05;
  JsVar *advArray = jsvIsUndefined(data) ? 0 : jsvNewArrayBufferWithData((JsVarInt)len, adv);
  jsvObjectSetOrRemoveChild(execInfo.hiddenRoot, BLE_NAME_ADVERTISE_DATA, advArray);
  jsvObjectSetOrRemoveChild(execInfo.hiddenRoot, BLE_NAME_ADVERTISE_OPTIONS, options);
  jsvUnLock(advArray);
  if (bhwOut) {
    fprintf(bhwOut, "V %lld %d ", (long long)bhwRawTime(), connectable ? 1 : 0);
    for (const char *c = name; *c; c++) fprintf(bhwOut, "%02x", (unsigned char)*c);
    fputc('\n', bhwOut);
  }
}

/*JSON{
  "type" : "staticmethod",
  "class" : "NRF",
  "name" : "setConnectionInterval",
  "generate" : "bhw_nrf_setConnectionInterval",
  "params" : [
    ["interval","JsVar","ms, 'auto', or {minInterval, maxInterval}"]
  ]
}*/
void bhw_nrf_setConnectionInterval(JsVar *interval) {
  if (jsvIsUndefined(interval) || jsvIsStringEqual(interval, "auto"))
    bhwEmit("I", "auto");
  else if (jsvIsNumeric(interval))
    bhwEmit("I", "%f", (double)jsvGetFloat(interval));
  else if (jsvIsObject(interval))
    bhwEmit("I", "%f", (double)jsvObjectGetFloatChild(interval, "maxInterval"));
}

/*JSON{
  "type" : "staticmethod",
  "class" : "NRF",
  "name" : "getBattery",
  "generate" : "bhw_nrf_getBattery",
  "return" : ["float","Battery level in volts"]
}*/
JsVarFloat bhw_nrf_getBattery(void) {
  return 3.0 + (JsVarFloat)bhwBattery * 0.003; // a CR2032 reads ~3.0-3.3 V
}

/*JSON{
  "type" : "staticmethod",
  "class" : "NRF",
  "name" : "disconnect",
  "generate" : "bhw_nrf_disconnect"
}*/
void bhw_nrf_disconnect(void) {
  if (bhwConnected) bhwEmit("X", "");
}

/** E.getBattery on boards whose firmware has it (Puck.js class: CUSTOM_GETBATTERY in the board file). */
JsVarInt bhwGetBattery(void) {
  return bhwBattery;
}

// ----------------------------------------------------------------------------------------------- commands in
static int bhwIn = -1;
static char bhwLine[1 << 16];
static size_t bhwLineLen = 0;

static int bhwHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/** Decode hex in place; returns the byte count. */
static size_t bhwUnhex(char *s) {
  size_t n = 0;
  while (s[2 * n] && s[2 * n + 1]) {
    int h = bhwHex(s[2 * n]), l = bhwHex(s[2 * n + 1]);
    if (h < 0 || l < 0) break;
    ((unsigned char *)s)[n] = (unsigned char)(h * 16 + l);
    n++;
  }
  return n;
}

static void bhwQueueNrfEvent(const char *name, JsVar *arg) {
  // bleQueueEventAndUnLock: callbacks on the NRF object, if the firmware registered any
  JsVar *nrf = jsvObjectGetChildIfExists(execInfo.root, "NRF");
  if (jsvHasChildren(nrf)) {
    jsiQueueObjectCallbacks(nrf, name, &arg, arg ? 1 : 0);
    jshHadEvent();
  }
  jsvUnLock2(nrf, arg);
}

/** A pin by name: "D0", or a board name such as "BTN1" (a built-in of the board's firmware). */
static Pin bhwPinByName(const char *name) {
  Pin pin = jshGetPinFromString(name);
  if (jshIsPinValid(pin)) return pin;
  JsVar *v = jswFindBuiltInFunction(0, name);
  pin = jshGetPinFromVar(v);
  jsvUnLock(v);
  return pin;
}

static void bhwCommand(char *line) {
  char kind = line[0];
  char *arg = line[1] == ' ' ? line + 2 : line + 1;
  switch (kind) {
  case 'C': { // C <address>: a central connected
    if (bhwConnected) break;
    bhwConnected = true;
    bhwQueueNrfEvent(JS_EVENT_PREFIX "connect", jsvNewFromString(arg));
    break;
  }
  case 'D': { // D <reason>: the link went down
    if (!bhwConnected) break;
    bhwConnected = false;
    bhwQueueNrfEvent(JS_EVENT_PREFIX "disconnect", jsvNewFromInteger(atoi(arg)));
    if (bhwRestartPending) bhwApplyServices();
    break;
  }
  case 'W': { // W <uuid> <hex>: the central wrote a characteristic
    char *sp = strchr(arg, ' ');
    if (!sp) break;
    *sp = 0;
    BhwChar *c = bhwFindChar(arg);
    if (!c) break;
    size_t n = bhwUnhex(sp + 1);
    // BLEP_WRITE in libs/bluetooth/bluetooth_utils.c: {data: ArrayBuffer} to the "#onblew<handle>" handler
    JsVar *evt = jsvNewObject();
    if (evt) {
      JsVar *str = jsvNewStringOfLength((unsigned int)n, sp + 1);
      if (str) {
        JsVar *ab = jsvNewArrayBufferFromString(str, (unsigned int)n);
        jsvUnLock(str);
        jsvObjectSetChildAndUnLock(evt, "data", ab);
      }
      char eventName[16];
      bhwWriteEventName(eventName, c->handle);
      jsiQueueObjectCallbacks(execInfo.root, eventName, &evt, 1);
      jsvUnLock(evt);
      jshHadEvent();
    }
    break;
  }
  case 'B': { // B <pin> <0|1>: a button pressed (1) or released (0)
    char *sp = strchr(arg, ' ');
    if (!sp) break;
    *sp = 0;
    Pin pin = bhwPinByName(arg);
    if (jshIsPinValid(pin)) bhwSetButton(pin, atoi(sp + 1) != 0);
    break;
  }
  case 'K': { // K <pin> <n> <0|1>: press (1) or release (0) just before the ADC takes sample n (0-based)
    char *a2 = strchr(arg, ' ');
    char *a3 = a2 ? strchr(a2 + 1, ' ') : NULL;
    if (!a3 || bhwSamplePresses == BHW_SAMPLE_PRESSES) break;
    *a2 = 0;
    Pin pin = bhwPinByName(arg);
    if (!jshIsPinValid(pin)) break;
    bhwSamplePress[bhwSamplePresses].pin = pin;
    bhwSamplePress[bhwSamplePresses].at = strtoul(a2 + 1, NULL, 10);
    bhwSamplePress[bhwSamplePresses].pressed = atoi(a3 + 1) != 0;
    bhwSamplePresses++;
    break;
  }
  case 'A': { // A <hex>: microphone samples, queued for the ADC
    size_t n = bhwUnhex(arg);
    for (size_t i = 0; i < n; i++) {
      size_t next = (bhwMicHead + 1) & (BHW_MIC_QUEUE - 1);
      if (next == bhwMicTail) break; // full: the driver feeds less than 4 M samples ahead
      bhwMic[bhwMicHead] = (unsigned char)arg[i];
      bhwMicHead = next;
    }
    break;
  }
  case 'Z': // Z: drop queued microphone samples
    bhwMicTail = bhwMicHead;
    break;
  case 'P': // P <percent>: battery
    bhwBattery = atoi(arg);
    break;
  case 'G': // G <0|1>: peak tracking off/on (on resets the peak)
    bhwPeakOn = atoi(arg) != 0;
    bhwPeakUsage = 0;
    break;
  case 'M': { // M: memory after a garbage collection
    jsvGarbageCollect();
    unsigned int usage = jsvGetMemoryUsage();
    if (bhwPeakOn && usage > bhwPeakUsage) bhwPeakUsage = usage;
    bhwEmit("m", "%u %u %u %u", usage, jsvGetMemoryTotal(), bhwPeakUsage, (unsigned)jsErrorFlags);
    break;
  }
  case 'Q':
    bhwFlush();
    exit(0);
  default:
    break;
  }
}

BHW_IO static void bhwReadCommands(void) {
  if (bhwIn < 0) return;
  for (;;) {
    ssize_t r = read(bhwIn, bhwLine + bhwLineLen, sizeof(bhwLine) - 1 - bhwLineLen);
    if (r == 0) exit(0); // the driver is gone: power off
    if (r < 0) return;    // EAGAIN: nothing more now
    bhwLineLen += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < bhwLineLen; i++) {
      if (bhwLine[i] != '\n') continue;
      bhwLine[i] = 0;
      bhwCommand(bhwLine + start);
      start = i + 1;
    }
    memmove(bhwLine, bhwLine + start, bhwLineLen - start);
    bhwLineLen -= start;
    if (bhwLineLen == sizeof(bhwLine) - 1) bhwLineLen = 0; // an over-long line: drop it
  }
}

/** The console (standard input), read here rather than by the Linux target's input thread. */
BHW_IO static void bhwReadConsole(void) {
  char buf[64];
  while (jshGetEventsUsed() < IOBUFFERMASK / 2) {
    fd_set fds;
    struct timeval tv = {0, 0};
    FD_ZERO(&fds);
    FD_SET(0, &fds);
    if (select(1, &fds, NULL, NULL, &tv) <= 0) return;
    ssize_t r = read(0, buf, sizeof(buf));
    if (r <= 0) exit(0); // console closed: power off
    for (ssize_t i = 0; i < r; i++)
      if (buf[i] == 4) exit(0); // Ctrl-D, as the Linux target does
    jshPushIOCharEvents(EV_USBSERIAL, buf, (unsigned int)r);
  }
}

// ----------------------------------------------------------------------------------------------- lifecycle
void bhwInit(void) {
  static bool done = false;
  if (done) return;
  done = true;
  clock_gettime(CLOCK_MONOTONIC, &bhwT0);
  const char *s = getenv("BUDLINK_TIME_SCALE");
  if (s && atof(s) > 0) bhwScale = atof(s);
  s = getenv("BUDLINK_CLOCK_OFFSET_MS");
  if (s) bhwClockOffset = (JsSysTime)(atof(s) * 1000);
  s = getenv("BUDLINK_SEED");
  if (s) srand((unsigned int)strtoul(s, NULL, 0));
  for (int i = 0; i < JSH_PIN_COUNT; i++) {
    bhwReported[i] = -1;
    bhwLevel[i] = bhwNegated((Pin)i) ? 1 : 0; // buttons idle released
  }
  bhwMic = (unsigned char *)malloc(BHW_MIC_QUEUE);
  if (fcntl(BHW_CMD_FD, F_GETFD) >= 0 && fcntl(BHW_EVT_FD, F_GETFD) >= 0) {
    bhwIn = BHW_CMD_FD;
    fcntl(bhwIn, F_SETFL, fcntl(bhwIn, F_GETFL) | O_NONBLOCK);
    bhwOut = fdopen(BHW_EVT_FD, "w");
    if (bhwOut) setvbuf(bhwOut, NULL, _IOFBF, 1 << 16);
  }
  pthread_t wdt;
  pthread_create(&wdt, NULL, bhwWatchdogThread, NULL);
  // the clock origin (CLOCK_MONOTONIC, as Node's process.hrtime) and scale, so the driver can read the device clock
  bhwEmit("H", "%lld %ld %.9g %lld", (long long)bhwT0.tv_sec, (long)bhwT0.tv_nsec, bhwScale, (long long)bhwClockOffset);
  bhwFlush();
}

/*JSON{
  "type" : "init",
  "generate" : "bhw_jsinit"
}*/
void bhw_jsinit(void) {
  // The interpreter (re)started: nothing is connected as far as JavaScript knows, a fresh heap.
  bhwRestartPending = false;
  bhwEmit("J", "%u %u", jsvGetMemoryTotal(), (unsigned)sizeof(JsVar));
  bhwFlush();
}

/** Report the microphone's sample rate when a Waveform input starts or changes rate ("r <Hz>"). */
BHW_IO static void bhwReportMicRate(void) {
  static unsigned int lastInterval = 0;
  unsigned int interval = 0;
  for (int i = 0; i < UTILTIMERTASK_TASKS; i++) {
    UtilTimerTask *task = &utilTimerTaskInfo[i];
    if ((task->type == UET_READ_BYTE || task->type == UET_READ_SHORT) && task->repeatInterval)
      interval = task->repeatInterval;
  }
  if (interval && interval != lastInterval) bhwEmit("r", "%.3f", 1e6 / (double)interval);
  lastInterval = interval;
}

void bhwIdle(void) {
  bhwReadConsole();
  bhwReadCommands();
  bhwRunTimer(bhwRawTime());
  bhwReportMicRate();
  bhwOutFlush();
  bhwMicFlushRun();
  if (bhwMicReportLen) {
    bhwEmit("a", "%s", bhwMicReport);
    bhwMicReportLen = 0;
  }
  bhwSamplePeak();
  bhwFlush();
}

void bhwSleep(JsSysTime timeUntilWake) {
  JsSysTime now = bhwRawTime();
  // JSSYSTIME_MAX means "no timer": cap it (targets/nrf5x wakes at least every 240 s too)
  if (timeUntilWake > (JsSysTime)240000000) timeUntilWake = 240000000;
  JsSysTime until = now + (timeUntilWake < 0 ? 0 : timeUntilWake);
  bhwFlush();
  jshHadEventDuringSleep = false;
  for (;;) {
    now = bhwRawTime();
    bhwRunTimer(now);
    if (jshHadEventDuringSleep || jshHasEvents() || now >= until) return;
    JsSysTime wake = until;
    JsSysTime swap = bhwNextSwap();
    if (swap >= 0 && swap < wake) wake = swap;
    // no periodic wake-up: the console and the commands wake select(), as an nRF52 sleeps until an event
    double us = (double)(wake - now) / bhwScale;
    if (us < 50) us = 50;
    struct timeval tv = {(time_t)(us / 1e6), (suseconds_t)fmod(us, 1e6)};
    fd_set fds;
    FD_ZERO(&fds);
    FD_SET(0, &fds);
    if (bhwIn >= 0) FD_SET(bhwIn, &fds);
    int r = select(bhwIn >= 0 ? bhwIn + 1 : 1, &fds, NULL, NULL, &tv);
    if (r > 0) return; // console input or a command: let the idle loop read it
  }
}
