/* Links the no_std static library and classifies 20 real test digits with the weights held
   in its `static`. Exit status 0 when at least 19 of 20 are right. */
#include <stdio.h>
#include "digits.h"

unsigned char stacknet_classify(const unsigned char pixels[784]);

int main(void) {
    int right = 0;
    for (int i = 0; i < 20; i++) {
        unsigned char digit = stacknet_classify(DIGITS[i]);
        printf("digit %2d: label %u, predicted %u\n", i, LABELS[i], digit);
        right += digit == LABELS[i];
    }
    printf("%d/20 correct\n", right);
    return right >= 19 ? 0 : 1;
}
